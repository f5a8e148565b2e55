public import Hummingbird

/// The HTTP method semantics every Portier server promises (and the OpenAPI document states):
/// HEAD answers like GET without a body, and a known path asked with any method it does not serve
/// (PUT, OPTIONS, QUERY, or a made-up one) answers 405 with `Allow` and the JSON error body, never 404.
///
/// ``router()`` makes a router that derives HEAD from GET; ``complete(_:)``, called once every route
/// is added, teaches it the 405s.
public enum MethodSemantics {
    /// A router for a Portier server: every GET route also answers HEAD, with the GET response's
    /// status and headers (Content-Length included) and no body.
    public static func router() -> Router<PortierRequestContext> {
        Router(context: PortierRequestContext.self, options: .autoGenerateHeadEndpoints)
    }

    /// Adds the 405 answers for the routes added so far. Call it after the last route: the middleware
    /// it adds then wraps only the router's not-found responder (Hummingbird wraps each route in the
    /// middleware present when the route is added, and the not-found responder in all of it), so it
    /// costs the routes nothing, and its 405 goes through the outer middleware (request id, access
    /// log, JSON errors) like any answer.
    public static func complete(_ router: Router<PortierRequestContext>) {
        router.add(middleware: UnsupportedMethodMiddleware(routes: RouteMethods(router.routes.map { ($0.path, $0.method) })))
    }
}

/// The methods each route pattern serves, matched segment by segment as the router's trie does:
/// where patterns overlap (`/payments/void` and `/payments/:id`), the one with more literal
/// segments wins. Patterns are the services' own: literals and single-segment captures.
struct RouteMethods: Sendable {
    /// One route pattern and the methods it serves, in `Allow` order.
    struct Pattern: Sendable {
        var elements: [RouterPath.Element]
        var allowed: [HTTPRequest.Method]
    }

    let patterns: [Pattern]

    /// The order `Allow` lists methods in; others follow alphabetically.
    static let order: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options]

    init(_ routes: [(path: RouterPath, method: HTTPRequest.Method)]) {
        var grouped: [(path: RouterPath, methods: Set<HTTPRequest.Method>)] = []
        for route in routes {
            if let index = grouped.firstIndex(where: { $0.path.description == route.path.description }) {
                grouped[index].methods.insert(route.method)
            } else {
                grouped.append((route.path, [route.method]))
            }
        }
        patterns = grouped.map { path, methods in
            var served = methods
            // HEAD routes are generated from GET routes when the router builds its responder.
            if served.contains(.get) { served.insert(.head) }
            return Pattern(elements: path.components, allowed: Self.ordered(served))
        }
    }

    static func ordered(_ methods: Set<HTTPRequest.Method>) -> [HTTPRequest.Method] {
        order.filter { methods.contains($0) } + methods.filter { !order.contains($0) }.sorted { $0.rawValue < $1.rawValue }
    }

    /// The methods served at `path`, or nil when no route has that shape.
    func allowed(at path: String) -> [HTTPRequest.Method]? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        var best: (literals: Int, methods: Set<HTTPRequest.Method>)?
        for pattern in patterns where pattern.elements.count == parts.count {
            guard zip(pattern.elements, parts).allSatisfy({ element, part in element ~= part }) else { continue }
            let literals = zip(pattern.elements, parts).filter { element, part in element == part }.count
            if let current = best, current.literals > literals { continue }
            if let current = best, current.literals == literals {
                best = (literals, current.methods.union(pattern.allowed))
            } else {
                best = (literals, Set(pattern.allowed))
            }
        }
        return best.map { Self.ordered($0.methods) }
    }
}

/// Turns the router's "no route" into 405 when the path is known and only the method is not, and
/// into the JSON 404 otherwise (also on a router without ``AccessLogMiddleware``, such as an admin listener's).
struct UnsupportedMethodMiddleware: RouterMiddleware {
    typealias Context = PortierRequestContext
    let routes: RouteMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            // Only the router's own miss throws HTTPError(.notFound); handlers answer with APIError.
            guard let allowed = routes.allowed(at: request.uri.path), !allowed.contains(request.method) else {
                throw APIError.notFound("no resource at \(request.uri.path)")
            }
            throw APIError.methodNotAllowed(allowed: allowed)
        }
    }
}
