import Foundation
import PortierTestSupport
import Testing
import Tokens
@testable import TokenServer

@Suite struct ClientStoreTests {
    @Test func theSecretNeverAppearsInTheDatabaseFiles() async throws {
        try await TemporaryDirectory.with { dir in
            let database = try AuthDatabase(dataDirectory: dir.path)
            let store = ClientStore(database: database)
            let secret = "correct-horse-battery-staple-42"
            _ = try await store.add(id: "svc", scopes: ["read"], secret: secret)
            let generated = try await store.add(id: "svc2", scopes: ["read"]).secret
            let rotated = try await store.rotateSecret(id: "svc")

            for file in try FileManager.default.contentsOfDirectory(atPath: dir.path) {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: dir.sub(file)))
                for needle in [secret, generated, rotated] {
                    #expect(bytes.range(of: Data(needle.utf8)) == nil, "\(file) contains a secret")
                }
            }
            let client = try #require(try await store.find(id: "svc"))
            #expect(client.secretHash.hasPrefix("pbkdf2-sha256$"))
            #expect(ClientSecret.verify(rotated, against: client.secretHash))
            #expect(!ClientSecret.verify(secret, against: client.secretHash), "the old secret stops working")
        }
    }

    @Test func duplicatesUnknownIdsAndBadInputGetClearErrors() async throws {
        try await TemporaryDirectory.with { dir in
            let store = ClientStore(database: try AuthDatabase(dataDirectory: dir.path))
            _ = try await store.add(id: "svc", scopes: ["read"])
            await #expect(throws: ClientStoreError.duplicate("svc")) { try await store.add(id: "svc", scopes: ["read"]) }
            await #expect(throws: ClientStoreError.unknown("ghost")) { try await store.remove(id: "ghost") }
            await #expect(throws: ClientStoreError.unknown("ghost")) { _ = try await store.rotateSecret(id: "ghost") }
            await #expect(throws: ClientStoreError.self) { try await store.add(id: "bad id", scopes: ["read"]) }
            await #expect(throws: ClientStoreError.self) { try await store.add(id: "x", scopes: []) }
            await #expect(throws: ClientStoreError.self) { try await store.add(id: "x", scopes: ["read"], secret: "short") }
            #expect(ClientStoreError.duplicate("svc").description == "client 'svc' already exists")

            try await store.remove(id: "svc")
            #expect(try await store.find(id: "svc") == nil)
        }
    }

    @Test func secretsAreGeneratedWith256BitsOfEntropy() throws {
        let base64URL = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var seen = Set<String>()
        for _ in 0..<200 {
            let secret = ClientSecret.generate()
            #expect(secret.count == 43, "32 bytes are 43 unpadded base64url characters")
            #expect(secret.allSatisfy { base64URL.contains($0) }, "\(secret) is not unpadded base64url")
            let decoded = try #require(Base64URL.decode(secret))
            #expect(decoded.count == 32, "256 bits")
            seen.insert(secret)
        }
        #expect(seen.count == 200, "no repeats")
    }
}
