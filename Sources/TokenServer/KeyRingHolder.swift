import Logging
import ServiceLifecycle
import Synchronization
import Tokens

/// The keys in use, swapped whole when `portier keys rotate` (or an operator) changes the directory.
public final class KeyRingHolder: Sendable {
    public struct Snapshot: Sendable {
        public let ring: KeyRing
        public let signer: TokenSigner
        public let verificationKeys: VerificationKeys
        let fileNames: [String]
    }

    private let store: KeyStore
    private let state: Mutex<Snapshot>

    /// Loads the directory, generating a first key when it is empty.
    public init(store: KeyStore) throws {
        self.store = store
        let (ring, _) = try store.loadOrCreate()
        self.state = Mutex(try Self.snapshot(ring, fileNames: store.privateKeyFileNames()))
    }

    public var current: Snapshot { state.withLock { $0 } }

    /// Re-reads the directory if its listing changed. Returns true when a new ring is in use.
    /// A broken or emptied directory keeps the last good ring and reports why.
    @discardableResult
    public func reloadIfChanged() throws -> Bool {
        let names = try store.privateKeyFileNames()
        guard names != state.withLock({ $0.fileNames }) else { return false }
        let ring = try store.load()
        guard !ring.keys.isEmpty else { throw KeyError("keys directory \(store.directory) has no keys; keeping the loaded ones") }
        let snapshot = try Self.snapshot(ring, fileNames: names)
        state.withLock { $0 = snapshot }
        return true
    }

    private static func snapshot(_ ring: KeyRing, fileNames: [String]) throws -> Snapshot {
        guard let signing = ring.signing else { throw KeyError("no signing key") }
        return Snapshot(ring: ring, signer: try TokenSigner(key: signing.key), verificationKeys: ring.verificationKeys, fileNames: fileNames)
    }
}

/// Background upkeep: notices key rotations within a second and purges expired revocations.
struct TokenServerMaintenance: Service {
    let keys: KeyRingHolder
    let revocations: RevocationStore
    let interval: Duration
    let logger: Logger

    func run() async throws {
        // Graceful shutdown cancels the sleep; that is a normal end, not a failure of the service.
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        var ticks = 0
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            if Task.isCancelled { return }
            do {
                if try keys.reloadIfChanged() {
                    let snapshot = keys.current
                    logger.info(
                        "signing keys reloaded",
                        metadata: ["signing_kid": .string(snapshot.signer.kid), "keys": .stringConvertible(snapshot.ring.keys.count)]
                    )
                }
            } catch {
                logger.error("cannot reload signing keys", metadata: ["error": .string("\(error)")])
            }
            ticks += 1
            if ticks % 60 == 0 {
                _ = try? await revocations.purgeExpired(now: TokenVerifier.now())
            }
        }
    }
}
