import Synchronization

/// Wakes one waiting task early (a commit put events in the outbox); otherwise it wakes itself
/// after a timeout. Signals that arrive while nobody waits are remembered once.
public final class Wakeup: Sendable {
    private let state = Mutex<(signaled: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.signaled = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns when signalled or after `timeout`, whichever comes first.
    public func wait(timeout: Duration) async {
        let consumed = state.withLock { state -> Bool in
            defer { state.signaled = false }
            return state.signaled
        }
        if consumed { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let now = self.state.withLock { state -> Bool in
                        if state.signaled {
                            state.signaled = false
                            return true
                        }
                        state.waiter = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            }
            group.addTask {
                // Also on cancellation (shutdown): the waiter must not outlive its task. A wake-up
                // that arrives after a real signal only costs the caller one extra loop.
                try? await Task.sleep(for: timeout)
                self.signal()
            }
            await group.next()
            group.cancelAll()
        }
    }
}
