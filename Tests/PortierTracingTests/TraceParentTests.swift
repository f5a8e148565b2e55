import PortierTracing
import Testing

/// `traceparent` by the W3C Trace Context rules (Level 2), with the specification's own example.
@Suite struct TraceParentTests {
    static let example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func theSpecificationsExampleReadsAndWritesBack() throws {
        let parsed = try #require(TraceParent(Self.example))
        #expect(parsed.traceIDHigh == 0x4bf9_2f35_77b3_4da6 && parsed.traceIDLow == 0xa3ce_929d_0e0e_4736)
        #expect(parsed.parentID == 0x00f0_67aa_0ba9_02b7)
        #expect(parsed.isSampled)
        #expect(parsed.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(parsed.header == Self.example)
        #expect(TraceParent.hex(parsed.parentID) == "00f067aa0ba902b7")
    }

    @Test func aChildKeepsTheTraceAndTheFlagsWithANewParent() throws {
        let parsed = try #require(TraceParent(Self.example))
        let child = parsed.child(spanID: 0xABC)
        #expect(child.header == "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000abc-01")
    }

    @Test(arguments: [
        ("", "empty"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0", "one byte short"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", "version 00 with more after it"),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", "uppercase hex"),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", "all-zero trace id"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "all-zero parent id"),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "version ff"),
        ("0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "a version that is not hex"),
        ("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "a separator that is not a dash"),
        ("00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01", "a dash in the wrong place"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x", "flags that are not hex"),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x", "a later version with no dash after 55 bytes"),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7 01", "a space for the last dash"),
    ])
    func invalidValuesAreIgnored(value: String, why: String) {
        #expect(TraceParent(value) == nil, "\(why): \(value)")
    }

    @Test func aLaterVersionIsReadByVersion00sRulesAndSentOnAs00() throws {
        let future = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff-and-more"
        let parsed = try #require(TraceParent(future))
        #expect(parsed.flags == TraceParent.knownFlags, "flags this version does not know are dropped")
        #expect(parsed.header == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03")
        #expect(TraceParent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00") != nil, "exactly 55 bytes is fine too")
    }

    @Test func newTracesHaveFreshNonZeroIdsAndAreNotSampled() {
        var generator = TraceIDGenerator(seed: 7)
        var traces = Set<String>()
        var spans = Set<UInt64>()
        for _ in 0..<1000 {
            let span = generator.spanID()
            #expect(span != 0)
            spans.insert(span)
            let trace = generator.newTrace(spanID: span)
            #expect(!trace.isSampled && trace.flags == 0x02, "the random-id flag, and nothing recorded by default")
            #expect(TraceParent(trace.header) == trace)
            traces.insert(trace.traceID)
        }
        #expect(traces.count == 1000 && spans.count == 1000)
        var first = TraceIDGenerator()
        var second = TraceIDGenerator()
        #expect(first.spanID() != second.spanID(), "each generator is seeded by the kernel, not a constant")
    }

    @Test(arguments: [
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7", "congo=t61rcWkgMzE,   rojo=00f067aa0ba902b7", "tenant1@sys=v a l", "0x=1",
        "a_-*/b=~!#$%&'()+-./:;<>?@[]^_`{|}", "k=" + String(repeating: "v", count: 256),
    ])
    func tracestateInW3CsListGrammarIsPassedOn(value: String) {
        #expect(TraceState.isAcceptable(value))
    }

    @Test(arguments: [
        ("", "empty"), ("a=b\r\nInjected: yes", "a control character"), ("Congo=1", "an uppercase key"), ("a=1,,b=2", "an empty member"),
        ("a=1,", "a trailing comma"), (" a=1", "a leading space"), ("a=1 ", "a value ending in a space"), ("a=1=2", "= in a value"),
        ("a", "no value"), ("a=", "an empty value"), ("a@=1", "an empty system"), ("a@Sys=1", "an uppercase system"),
        ("a@abcdefghijklmno=1", "a 15-byte system"), ("a=1,\tb=2", "a tab after the comma"), ("_a=1", "a key starting with _"),
        ("k=" + String(repeating: "v", count: 257), "a 257-byte value"), ("a=é", "a byte beyond ASCII"),
    ])
    func tracestateOutsideTheGrammarIsDropped(value: String, why: String) {
        #expect(!TraceState.isAcceptable(value), "\(why)")
    }

    @Test func tracestateIsAtMost512BytesAnd32Members() {
        let members = (0..<32).map { "k\($0)=v" }
        #expect(TraceState.isAcceptable(members.joined(separator: ",")))
        #expect(!TraceState.isAcceptable((members + ["k32=v"]).joined(separator: ",")), "33 members")
        let long = "a=" + String(repeating: "v", count: 250) + ",b=" + String(repeating: "v", count: 250)
        #expect(long.utf8.count == 505 && TraceState.isAcceptable(long))
        #expect(!TraceState.isAcceptable(long + ",c=123456"), "513 bytes")
    }
}
