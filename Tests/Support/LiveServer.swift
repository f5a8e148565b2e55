import Hummingbird
import Logging
import ServiceLifecycle
#if canImport(Glibc)
import Glibc
#endif

/// Carries the port a server bound (port 0 lets the kernel choose) from `onServerRunning` to the test.
public struct PortSignal: Sendable {
    let stream: AsyncStream<Int>
    let continuation: AsyncStream<Int>.Continuation

    public init() {
        (stream, continuation) = AsyncStream.makeStream(of: Int.self)
    }

    /// Pass this as the application's `onServerRunning`.
    public var callback: @Sendable (Int) async -> Void {
        { [continuation] port in continuation.yield(port) }
    }
}

/// Runs real servers on loopback ports, hands the ports to `body`, then shuts them down gracefully,
/// whatever `body` did.
public enum LiveServer {
    public static func run<T: Sendable>(
        _ service: some Service, port signal: PortSignal, _ body: @Sendable (Int) async throws -> T
    ) async throws -> T {
        let group = ServiceGroup(configuration: .init(services: [service], logger: testLogger("test")))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = signal.stream.makeAsyncIterator()
            guard let port = await iterator.next() else { throw LiveServerError.didNotStart }
            do {
                let result = try await body(port)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await group.triggerGracefulShutdown()
                try? await tasks.waitForAll()
                throw error
            }
        }
    }
}

public enum LiveServerError: Error {
    case didNotStart
}

/// Test servers log nothing unless PORTIER_TEST_LOGS is set, so test output stays readable.
public func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = getenv("PORTIER_TEST_LOGS") != nil ? .info : .critical
    return logger
}
