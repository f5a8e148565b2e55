import Foundation
import FuzzSupport
import GatewayConfig

/// routes.json as the gateway reads it at start and on every hot reload. A document that parses
/// must build a route table, and must print back to a document that parses to the same value,
/// so the validation has no path by which a second read would disagree with the first.
enum RoutesFuzz {
    static func run(_ bytes: [UInt8]) {
        let configuration: GatewayConfiguration
        do {
            configuration = try GatewayConfiguration.parse(Data(bytes))
        } catch let error as ConfigurationError {
            Fuzz.check(!error.description.isEmpty, "a refused routes.json must say why")
            return
        } catch {
            return Fuzz.check(false, "parse threw \(type(of: error)), not ConfigurationError: \(error)")
        }
        Fuzz.check(Set(configuration.routes.map(\.id)).count == configuration.routes.count, "route ids are unique")
        Fuzz.check(Set(configuration.routes.map(\.path)).count == configuration.routes.count, "route paths are unique")
        for route in configuration.routes {
            Fuzz.check(route.path.hasPrefix("/"), "route path \(route.path) starts with /")
            Fuzz.check(!route.upstreams.isEmpty, "route \(route.id) has an upstream")
            Fuzz.check(route.upstreams.allSatisfy { Upstream($0) != nil }, "route \(route.id) upstreams parse")
            Fuzz.check(configuration.auth != nil || route.isPublic, "protected route \(route.id) without auth")
        }
        let table = RouteTable(configuration: configuration)
        Fuzz.check(table.routes.count == configuration.routes.count, "every route is in the table")
        for route in table.routes {
            Fuzz.check(table.match(Substring(route.settings.path))?.id == route.id, "route \(route.id) matches its own path")
        }

        let printed = RoutesDocument.render(configuration)
        do {
            let again = try GatewayConfiguration.parse(printed)
            Fuzz.check(again == configuration, "re-read differs: \(String(decoding: printed, as: UTF8.self))")
        } catch {
            Fuzz.check(false, "printed document is refused (\(error)): \(String(decoding: printed, as: UTF8.self))")
        }
    }
}

@main enum Main {
    static func main() { Fuzz.main(RoutesFuzz.run, entry: fuzzRoutes) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRoutes(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    RoutesFuzz.run(Fuzz.bytes(data, size))
    return 0
}
