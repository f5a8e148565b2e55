import Foundation
import Logging
import ServiceLifecycle

/// Tells the other token server replicas on the same PostgreSQL of the failed authentications
/// counted here, and counts theirs, every ``interval``: an attacker spreading guesses over the
/// replicas behind a load balancer is locked out as if all went to one, at most one interval
/// late. If the database cannot be reached, each replica goes on counting alone.
struct SharedFailures: Service {
    let authenticator: ClientAuthenticator
    let database: PostgresAuthDatabase
    let window: Duration
    let logger: Logger
    var interval: Duration = .milliseconds(250)
    let replica = UUID().uuidString

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var cursor: Int64?
            var failing = false
            var lastForget = ContinuousClock.now
            while !Task.isCancelled {
                let outgoing = authenticator.takeUnsharedFailures()
                do {
                    let exchanged = try await database.exchangeFailures(outgoing, replica: replica, after: cursor, window: window)
                    cursor = exchanged.cursor
                    authenticator.countFailures(fromOtherReplicas: exchanged.incoming)
                    if failing { logger.info("sharing authentication failures with the other replicas again") }
                    failing = false
                    if ContinuousClock.now - lastForget > .seconds(60) {
                        lastForget = .now
                        try await database.forgetFailures(before: Date().timeIntervalSince1970 - 2 * Double(window.components.seconds) - 60)
                    }
                } catch {
                    authenticator.keepUnshared(outgoing)  // told with the next exchange that works
                    if !failing {
                        logger.warning(
                            "cannot share authentication failures with the other replicas; counting alone", metadata: ["error": .string("\(error)")]
                        )
                    }
                    failing = true
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
