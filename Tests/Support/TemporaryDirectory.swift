import Foundation

/// A fresh directory under the system temp dir, removed when the test is done with it.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(_ prefix: String = "portier-test") throws {
        path = NSTemporaryDirectory() + "/\(prefix)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    public func sub(_ name: String) -> String { path + "/" + name }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Runs `body` with a new directory and removes it afterwards, also on failure.
    public static func with<T>(_ prefix: String = "portier-test", _ body: (TemporaryDirectory) async throws -> T) async throws -> T {
        let directory = try TemporaryDirectory(prefix)
        defer { directory.remove() }
        return try await body(directory)
    }
}
