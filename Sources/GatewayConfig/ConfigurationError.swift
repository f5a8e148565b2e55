/// A routes.json problem, phrased for the person editing the file: where, which field, and why.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}

/// Reads one JSON object of routes.json with typed accessors whose errors name the place
/// ("route 'books': rateLimit.burst must be >= 1") and refuses unknown fields, so a typo such as
/// `ratelimit` is an error instead of a silently missing rate limit.
public struct JSONObjectReader {
    let object: [String: JSONValue]
    /// "route 'books'", "auth", "routes.json".
    let place: String
    /// Field prefix inside the place: "" or "rateLimit.".
    let prefix: String

    init(_ value: JSONValue?, place: String, prefix: String = "", field: String? = nil) throws {
        guard case .object(let object) = value else {
            let what = field.map { "\(prefix)\($0)" } ?? "the document"
            throw ConfigurationError("\(place): \(what) must be a JSON object")
        }
        self.object = object
        self.place = place
        self.prefix = prefix
    }

    func fail(_ field: String, _ problem: String) -> ConfigurationError {
        ConfigurationError("\(place): \(prefix)\(field) \(problem)")
    }

    func allowOnly(_ allowed: Set<String>) throws {
        for key in object.keys.sorted() where !allowed.contains(key) {
            let hint = allowed.first { $0.lowercased() == key.lowercased() }.map { " (did you mean '\($0)'?)" } ?? ""
            throw ConfigurationError("\(place): unknown field '\(prefix)\(key)'\(hint)")
        }
    }

    /// JSON null counts as "not set", like a missing field.
    func has(_ key: String) -> Bool {
        guard let value = object[key] else { return false }
        return value != .null
    }

    func string(_ key: String) throws -> String? {
        guard has(key) else { return nil }
        guard case .string(let value) = object[key] else { throw fail(key, "must be a string") }
        return value
    }

    func requiredString(_ key: String) throws -> String {
        guard let value = try string(key), !value.isEmpty else { throw fail(key, "is required") }
        return value
    }

    func bool(_ key: String) throws -> Bool? {
        guard has(key) else { return nil }
        guard case .bool(let value) = object[key] else { throw fail(key, "must be true or false") }
        return value
    }

    func number(_ key: String, min: Double, max: Double) throws -> Double? {
        guard has(key) else { return nil }
        guard case .number(let value) = object[key] else { throw fail(key, "must be a number") }
        guard value >= min else { throw fail(key, "must be >= \(Self.format(min))") }
        guard value <= max else { throw fail(key, "must be <= \(Self.format(max))") }
        return value
    }

    func int(_ key: String, min: Int, max: Int) throws -> Int? {
        guard let value = try number(key, min: Double(min), max: Double(max)) else { return nil }
        guard value.rounded() == value else { throw fail(key, "must be a whole number") }
        return Int(value)
    }

    func strings(_ key: String) throws -> [String]? {
        guard has(key) else { return nil }
        guard case .array(let values) = object[key] else { throw fail(key, "must be a list of strings") }
        return try values.map { value in
            guard case .string(let text) = value else { throw fail(key, "must be a list of strings") }
            return text
        }
    }

    func child(_ key: String) throws -> JSONObjectReader? {
        guard has(key) else { return nil }
        return try JSONObjectReader(object[key], place: place, prefix: prefix + key + ".", field: key)
    }

    /// A number as routes.json would spell it ("200", not "200.0"), for messages.
    public static func format(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(value)
    }
}
