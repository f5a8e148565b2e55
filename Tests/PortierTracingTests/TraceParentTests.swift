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

    @Test func tracestateIsPassedOnOnlyWhenItIsPrintableAndShort() {
        #expect(TraceState.isAcceptable("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"))
        #expect(!TraceState.isAcceptable(""))
        #expect(!TraceState.isAcceptable("a=b\r\nInjected: yes"), "no control characters")
        #expect(!TraceState.isAcceptable(String(repeating: "a", count: 513)))
        #expect(TraceState.isAcceptable(String(repeating: "a", count: 512)))
    }
}
