public import Hummingbird

/// `/health/live` and `/health/ready`, the probes Kubernetes and `portier up` use.
public enum HealthRoutes {
    struct Status: Encodable {
        var status: String
        var reason: String?
    }

    /// Adds the probes. `ready` returns nil when ready, or the reason it is not.
    public static func add(to router: Router<PortierRequestContext>, ready: @escaping @Sendable () async -> String?) {
        router.get("/health/live") { _, _ in
            JSONResponse.make(Status(status: "up"))
        }
        router.get("/health/ready") { _, _ in
            if let reason = await ready() {
                return JSONResponse.make(status: .serviceUnavailable, Status(status: "down", reason: reason))
            }
            return JSONResponse.make(Status(status: "up"))
        }
    }
}
