import Foundation
import Testing
@testable import Tokens
import PortierTestSupport

@Suite struct KeyStoreTests {
    @Test func firstStartGeneratesAPrivateKeyReadableOnlyByItsOwner() async throws {
        try await TemporaryDirectory.with { dir in
            let store = KeyStore(directory: dir.sub("keys"))
            let (ring, generated) = try store.loadOrCreate()
            let key = try #require(generated)
            #expect(ring.keys.count == 1 && ring.signing?.kid == key.kid)

            let attributes = try FileManager.default.attributesOfItem(atPath: key.path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.int16Value == 0o600)
            let pem = try String(contentsOfFile: key.path, encoding: .utf8)
            #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----"))

            let (again, none) = try store.loadOrCreate()
            #expect(none == nil && again.keys.count == 1, "a second start reuses the key")
        }
    }

    @Test func rotationSignsWithTheNewKeyAndKeepsTheOldOneVerifying() async throws {
        try await TemporaryDirectory.with { dir in
            let store = KeyStore(directory: dir.sub("keys"))
            let (ring, _) = try store.loadOrCreate()
            let oldKey = try #require(ring.signing)
            let oldToken = try TokenSigner(key: oldKey.key).sign(TestKeys.claims())

            let newKey = try store.rotate()
            let rotated = try store.load()
            #expect(rotated.signing?.kid == newKey.kid)
            #expect(rotated.jwks.keys.map(\.kid) == [newKey.kid, oldKey.kid], "newest first, both published")

            let fromJWKS = VerificationKeys(jwks: rotated.jwks)
            #expect(try TestKeys.verifier.verify(oldToken, keys: fromJWKS).kid == oldKey.kid)
            let newToken = try TokenSigner(key: try #require(rotated.signing).key).sign(TestKeys.claims())
            #expect(try TestKeys.verifier.verify(newToken, keys: fromJWKS).kid == newKey.kid)
        }
    }

    @Test func pruneRemovesOnlyKeysRetiredBeforeTheCutoff() async throws {
        try await TemporaryDirectory.with { dir in
            let store = KeyStore(directory: dir.sub("keys"))
            let first = try store.rotate(now: Date(timeIntervalSinceNow: -10_000))
            let second = try store.rotate(now: Date(timeIntervalSinceNow: -5000))
            let third = try store.rotate()
            let removed = try store.prune(retiredBefore: Date(timeIntervalSinceNow: -1000))
            #expect(removed.map(\.kid) == [first.kid])
            #expect(try store.load().keys.map(\.kid) == [second.kid, third.kid])
        }
    }

    @Test func aCorruptKeyFileIsAnErrorThatNamesTheFile() async throws {
        try await TemporaryDirectory.with { dir in
            let store = KeyStore(directory: dir.path)
            let path = dir.sub("rsa-1700000000000-broken.pem")
            try "-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n".write(toFile: path, atomically: true, encoding: .utf8)
            #expect { try store.load() } throws: { "\($0)".contains("rsa-1700000000000-broken.pem") }
        }
    }
}
