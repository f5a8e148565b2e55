import Testing
@testable import Tokens

@Suite struct CryptoTests {
    /// RFC 7914 section 11 test vector for PBKDF2-HMAC-SHA-256 ("passwd", "salt", 1 iteration).
    @Test func pbkdf2MatchesTheRFC7914Vector() {
        let derived = Crypto.pbkdf2SHA256(password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1, length: 64)
        let hex = derived.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        #expect(hex.hasPrefix("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"))
    }

    @Test func sha256OfEmptyInput() {
        #expect(Base64URL.encode(Crypto.sha256([])) == "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")
    }

    @Test func randomTokensAreDistinctAndURLSafe() {
        // 1,000 token ids span several of the 4 KiB blocks small requests are served from.
        let tokens = (0..<1_000).map { _ in Crypto.randomToken(bytes: 16) }
        #expect(Set(tokens).count == 1_000)
        #expect(tokens.allSatisfy { $0.count == 22 && Base64URL.decode($0)?.count == 16 })
        // Sizes that do not divide the block, and one larger than the block path takes.
        for count in [1, 7, 33, 64, 65, 5_000] {
            let bytes = Crypto.randomBytes(count)
            #expect(bytes.count == count)
            #expect(count < 16 || Set(bytes).count > 8, "random bytes of length \(count) look constant")
        }
    }

    @Test func constantTimeEqualsComparesContent() {
        #expect(Crypto.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!Crypto.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!Crypto.constantTimeEquals([1, 2, 3], [1, 2]))
    }
}
