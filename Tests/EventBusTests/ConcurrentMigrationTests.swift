import EventBus
import Foundation
import PortierTestSupport
import Synchronization
import Testing

/// The services open the shared events.sqlite (and replicas their service's file) at the same
/// moment when they start together: whoever migrates second must not fail on the first's tables.
@Suite struct ConcurrentMigrationTests {
    /// Opens `path` from `count` threads released at once; returns the errors.
    func openAtOnce(_ count: Int, _ open: @escaping @Sendable () throws -> Void) -> [String] {
        let ready = Atomic<Int>(0)
        let errors = Mutex<[String]>([])
        let done = DispatchGroup()
        for _ in 0..<count {
            done.enter()
            Thread.detachNewThread {
                ready.add(1, ordering: .relaxed)
                while ready.load(ordering: .relaxed) < count {}  // start together
                do { try open() } catch { errors.withLock { $0.append("\(error)") } }
                done.leave()
            }
        }
        done.wait()
        return errors.withLock { $0 }
    }

    @Test func manyOpenersOfANewFileAllSucceed() async throws {
        try await TemporaryDirectory.with("migrate") { dir in
            for round in 0..<20 {
                let events = dir.sub("events-\(round).sqlite")
                let logErrors = openAtOnce(8) { _ = try SQLiteEventLog(path: events) }
                #expect(logErrors == [])
                let service = dir.sub("books-\(round).sqlite")
                let serviceErrors = openAtOnce(8) { _ = try ServiceDatabase(path: service, source: "books") { _ in } }
                #expect(serviceErrors == [])
                let position = try await SQLiteEventLog(path: events).position(of: "nobody")
                #expect(position == 0, "the log is usable")
            }
        }
    }
}
