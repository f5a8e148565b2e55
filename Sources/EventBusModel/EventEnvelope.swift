import Foundation

/// An event as the bus carries it: identity, type, correlation key and a JSON payload.
public struct EventEnvelope: Codable, Sendable, Equatable {
    /// Unique id; consumers de-duplicate on it.
    public var id: String
    /// "Booked", "PaymentApproved", ...
    public var type: String
    /// Seconds since 1970.
    public var occurredAt: Double
    /// Correlation key that ties a booking's events together.
    public var bookID: Int64?
    /// The service that published it.
    public var source: String
    /// The event's own fields, as JSON.
    public var payload: Data
    /// The W3C `traceparent` of the span that created the event (nil outside any trace). Kept
    /// beside the payload, not in it: consumers and webhooks see the same event contract.
    public var traceParent: String?
    /// The `tracestate` that goes with ``traceParent``.
    public var traceState: String?

    public init(
        id: String = UUID().uuidString, type: String, occurredAt: Double = Date().timeIntervalSince1970, bookID: Int64?, source: String, payload: Data,
        traceParent: String? = nil, traceState: String? = nil
    ) {
        self.id = id
        self.type = type
        self.occurredAt = occurredAt
        self.bookID = bookID
        self.source = source
        self.payload = payload
        self.traceParent = traceParent
        self.traceState = traceState
    }
}

/// An event at its place in the log.
public struct StoredEvent: Sendable, Equatable {
    /// Monotonic position in the log; consumer groups remember the last one they finished.
    public var position: Int64
    public var envelope: EventEnvelope

    public init(position: Int64, envelope: EventEnvelope) {
        self.position = position
        self.envelope = envelope
    }
}
