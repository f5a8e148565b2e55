import Testing
@testable import Tokens

@Suite struct Base64URLTests {
    @Test func roundTripsEveryLength() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }

    @Test func usesTheURLAlphabetWithoutPadding() {
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.encode("hi") == "aGk")
    }

    @Test func rejectsPaddingForeignCharactersAndNonCanonicalTails() {
        #expect(Base64URL.decode("aGk=") == nil)
        #expect(Base64URL.decode("a+Gk") == nil)
        #expect(Base64URL.decode("a/Gk") == nil)
        #expect(Base64URL.decode("aG k") == nil)
        #expect(Base64URL.decode("a") == nil)
        // "aGl" decodes to "hi" only with the canonical zero tail bits; "aGj" has stray bits.
        #expect(Base64URL.decode("aGj") == nil)
    }
}
