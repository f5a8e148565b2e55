import Foundation
import FuzzSupport
import GatewayConfig

/// Longest-prefix route matching and the upstream path rewrite. The input's lines are route
/// paths (each with a rewrite mode picked from its first byte), the last line is the request
/// path. The answer must be the longest route that matches on whole segments, and the path sent
/// upstream must be the route's replacement followed by exactly the rest of the request path.
enum RouteMatchFuzz {
    static func run(_ bytes: [UInt8]) {
        var lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count >= 2, let requestPath = lines.popLast() else { return }
        var routes: [[String: Any]] = []
        for (index, line) in lines.prefix(16).enumerated() {
            guard let mode = line.utf8.first else { continue }
            var route: [String: Any] = [
                "id": "r\(index)", "path": String(line.dropFirst()), "upstreams": ["http://127.0.0.1:1/base"], "public": true,
            ]
            switch mode % 3 {
            case 1: route["stripPrefix"] = true
            case 2: route["rewrite"] = "/v2"
            default: break
            }
            routes.append(route)
        }
        guard let document = try? JSONSerialization.data(withJSONObject: ["routes": routes]),
            let configuration = try? GatewayConfiguration.parse(document)
        else { return }
        let table = RouteTable(configuration: configuration)
        let path = Substring(requestPath)

        let matching = table.routes.filter { segmentPrefix($0.settings.path, of: path) }
        let expected = matching.max { $0.settings.path.utf8.count < $1.settings.path.utf8.count }
        let matched = table.match(path)
        Fuzz.check(
            matched?.id == expected?.id, "\(path) matched \(matched?.settings.path ?? "nothing"), expected \(expected?.settings.path ?? "nothing")")
        guard let route = matched else { return }

        let upstream = route.upstreamPath(for: path)
        let prefix = route.settings.path
        let rest = prefix == "/" ? Array(path.utf8) : Array(path.utf8.dropFirst(prefix.utf8.count))
        switch route.settings.rewrite {
        case nil:
            Fuzz.check(upstream == path, "no rewrite, yet \(path) became \(upstream)")
        case ""?:
            Fuzz.check(upstream.utf8.first == UInt8(ascii: "/"), "stripped \(path) to \(upstream), which is not absolute")
            let expectedBytes = rest.first == UInt8(ascii: "/") ? rest : [UInt8(ascii: "/")] + rest
            Fuzz.check(Array(upstream.utf8) == expectedBytes, "stripping \(prefix) from \(path) gave \(upstream)")
        case let rewrite?:
            Fuzz.check(Array(upstream.utf8) == Array(rewrite.utf8) + rest, "rewriting \(prefix) in \(path) to \(rewrite) gave \(upstream)")
        }
    }

    /// `/rooms` is a prefix of `/rooms` and `/rooms/7`, not of `/roomsX`; compared as bytes, the way
    /// a path arrives on the wire.
    static func segmentPrefix(_ prefix: String, of path: Substring) -> Bool {
        if prefix == "/" { return true }
        guard path.utf8.starts(with: prefix.utf8) else { return false }
        let rest = path.utf8.dropFirst(prefix.utf8.count)
        return rest.isEmpty || rest.first == UInt8(ascii: "/")
    }
}

@main enum Main {
    static func main() { Fuzz.main(RouteMatchFuzz.run, entry: fuzzRouteMatch) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRouteMatch(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    RouteMatchFuzz.run(Fuzz.bytes(data, size))
    return 0
}
