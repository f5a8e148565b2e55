/// Errors of the gateway's background fetches (JWKS and revocation feed), for their log lines.
struct FetchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
