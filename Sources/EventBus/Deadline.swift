import Synchronization

/// Runs an operation that may never return (a query on a connection that died without a word)
/// with a deadline. Past it the caller gets an error and the operation is cancelled and left to end
/// on its own: a consumer or relay then retries instead of hanging for good. A cancelled caller
/// cancels the operation and waits for it to end, at most until the deadline, so nothing it started
/// (a lease taken) outlives a shutdown unnoticed.
public enum Deadline {
    public struct Exceeded: Error, CustomStringConvertible {
        public let timeout: Duration
        public var description: String { "no answer within \(timeout)" }
    }

    public static func run<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try Task.checkCancellation()
        let outcome = Outcome<T>()
        let work = Task {
            let result: Result<T, any Error>
            do { result = .success(try await operation()) } catch { result = .failure(error) }
            outcome.give(result)
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            guard !Task.isCancelled else { return }
            outcome.give(.failure(Exceeded(timeout: timeout)))
            work.cancel()
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { outcome.wait($0) }
        } onCancel: {
            work.cancel()
        }
    }

    /// Hands the first result to the one waiter; later ones are dropped.
    final class Outcome<T: Sendable>: Sendable {
        private let state = Mutex<(waiter: CheckedContinuation<T, any Error>?, early: Result<T, any Error>?)>((nil, nil))

        func wait(_ continuation: CheckedContinuation<T, any Error>) {
            let early = state.withLock { state -> Result<T, any Error>? in
                if let early = state.early { return early }
                state.waiter = continuation
                return nil
            }
            if let early { continuation.resume(with: early) }
        }

        func give(_ result: Result<T, any Error>) {
            let waiter = state.withLock { state -> CheckedContinuation<T, any Error>? in
                if let waiter = state.waiter {
                    state.waiter = nil
                    state.early = result  // later results find it taken
                    return waiter
                }
                if state.early == nil { state.early = result }
                return nil
            }
            waiter?.resume(with: result)
        }
    }
}
