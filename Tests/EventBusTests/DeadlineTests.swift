import Testing
@testable import EventBus

/// A log operation that never answers must not stop a consumer or relay for good.
@Suite struct DeadlineTests {
    /// Never returns, and ignores cancellation, like a query on a connection that died silently.
    static func hang() async throws -> Int {
        await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
        return 0
    }

    @Test func anOperationThatNeverAnswersBecomesAnError() async throws {
        await #expect(throws: Deadline.Exceeded.self) {
            _ = try await Deadline.run(.milliseconds(50)) { try await Self.hang() }
        }
    }

    @Test func anAnswerAndAnErrorPassThrough() async throws {
        #expect(try await Deadline.run(.seconds(60)) { 42 } == 42)
        await #expect(throws: UnprocessableEvent.self) {
            _ = try await Deadline.run(.seconds(60)) { () async throws -> Int in throw UnprocessableEvent("refused") }
        }
    }

    /// The operation is cancelled with its caller (a shutdown), and the caller learns how it ended.
    @Test func aCancelledCallerCancelsTheOperation() async throws {
        let waiting = Task {
            try await Deadline.run(.seconds(3600)) { () async throws -> Int in
                try await Task.sleep(for: .seconds(3600))
                return 0
            }
        }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }
    }
}
