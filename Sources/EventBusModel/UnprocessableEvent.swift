/// Why an event could not be handled; it is set aside in `dead_letters` instead of blocking the group.
public struct UnprocessableEvent: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
