/// Why a request was refused, naming the field when one is to blame. Pure data, so the services can
/// map it to their HTTP error (400) and a fuzzer can check it is the only thing these parsers throw.
public struct RequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The body field or query parameter at fault; nil when the whole body is (malformed JSON).
    public var field: String?
    /// A one-line explanation for the client, e.g. "startDate must be a date like 2026-05-05".
    public var message: String

    public init(field: String?, _ message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
