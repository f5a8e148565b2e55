import PortierHTTP
import Testing

/// Request ids the gateway makes itself: one generator per connection, seeded once.
@Suite struct RequestIDTests {
    @Test func generatedIdsAreDistinctBase64URLAndDifferBetweenConnections() {
        var first = RequestID.Generator()
        var second = RequestID.Generator()
        let ids = (0..<10_000).map { _ in first.next() }
        #expect(Set(ids).count == ids.count, "no repeats on one connection")
        let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        #expect(ids.allSatisfy { $0.utf8.count == 16 && $0.utf8.allSatisfy(alphabet.contains) }, "96 bits, base64url")
        let others = Set((0..<10_000).map { _ in second.next() })
        #expect(others.isDisjoint(with: ids), "another connection's seed gives other ids")
    }

    @Test func aSaneClientIDIsKeptAndAnythingElseReplaced() {
        var generator = RequestID.Generator()
        #expect(RequestID.resolve("trace-42", generator: &generator) == "trace-42")
        for bad in [nil, "", "has space", "quote\"", String(repeating: "x", count: 129)] {
            let id = RequestID.resolve(bad, generator: &generator)
            #expect(id != bad && id.utf8.count == 16)
        }
    }
}
