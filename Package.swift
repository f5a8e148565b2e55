// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let hotelServiceDependencies: [Target.Dependency] = [
    "EventBus", "HotelEvents", "HotelSupport", "PortierHTTP",
    .product(name: "Hummingbird", package: "hummingbird"),
    .product(name: "GRDB", package: "GRDB.swift"),
    .product(name: "PostgresNIO", package: "postgres-nio"),
    .product(name: "Logging", package: "swift-log"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
]

let package = Package(
    name: "portier",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "portier", targets: ["portier"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // OTLP over HTTP only: the gRPC trait would add grpc-swift to every build.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        .systemLibrary(name: "CJWT", pkgConfig: "libjwt", providers: [.apt(["libjwt-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "Tokens",
            dependencies: ["CJWT", "COpenSSL"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Resilience",
            swiftSettings: swiftSettings
        ),
        // W3C trace context as integers and bytes, with no dependencies: the gateway's data path
        // and the services share it, and its fuzz target links it alone.
        .target(name: "PortierTracing", swiftSettings: swiftSettings),
        // The same context through swift-distributed-tracing's API, which Hummingbird, AsyncHTTPClient
        // and swift-otel speak: Portier's own id-only tracer, the log fields, and events' context.
        .target(
            name: "PortierTelemetry",
            dependencies: [
                "PortierTracing",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatewayConfig",
            dependencies: ["Resilience", .product(name: "HTTPTypes", package: "swift-http-types")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatewayHeaders",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "Tokens", "PortierHTTP", "PortierClients", "PortierTracing", "PortierTelemetry", "Resilience", "GatewayConfig", "GatewayHeaders",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                // Rate limits shared between replicas; the command line hands in the URL and migrator.
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            // The data path's state lives in classes bound to one event loop; the runtime's dynamic
            // exclusivity checks on them cost ~2% of its CPU. Debug builds (the tests) keep them.
            swiftSettings: swiftSettings + [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .target(name: "EventBusModel", swiftSettings: swiftSettings),
        .target(
            name: "EventBus",
            dependencies: [
                "EventBusModel", "PortierTelemetry", "PortierTracing",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "HotelEvents", dependencies: ["EventBusModel"], swiftSettings: swiftSettings),
        // Request bodies, queries and their validation with only Foundation, so fuzzers can link it alone.
        .target(name: "HotelAPI", swiftSettings: swiftSettings),
        .target(
            name: "HotelSupport",
            dependencies: [
                "HotelAPI", "EventBus", "PortierHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "Rooms", dependencies: hotelServiceDependencies, swiftSettings: swiftSettings),
        .target(name: "Payments", dependencies: hotelServiceDependencies + ["PortierClients"], swiftSettings: swiftSettings),
        .target(
            name: "Books",
            dependencies: hotelServiceDependencies + [
                "HotelAPI", "Resilience", "PortierClients",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Notifications",
            dependencies: hotelServiceDependencies + [
                "PortierTelemetry",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "MyPages", dependencies: hotelServiceDependencies, swiftSettings: swiftSettings),
        .target(
            name: "PortierHTTP",
            dependencies: [
                "PortierTracing", "PortierTelemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Hummingbird", package: "hummingbird"),
                // Every process's admin listener and request metrics (AdminServer, RequestMetricsMiddleware).
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // What only processes that call others over HTTP or check tokens need: the JWKS fetcher,
        // service tokens (getting and checking them), upstream failure kinds. Kept apart so
        // PortierHTTP brings neither libjwt nor AsyncHTTPClient into every service.
        .target(
            name: "PortierClients",
            dependencies: [
                "PortierHTTP", "Tokens",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(name: "OAuthForms", swiftSettings: swiftSettings),
        .target(
            name: "TokenServer",
            dependencies: [
                "Tokens", "PortierHTTP", "OAuthForms", "EventBus",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "portier",
            dependencies: [
                "Tokens", "PortierHTTP", "PortierClients", "TokenServer", "Gateway", "HotelSupport", "Rooms", "Books", "Payments", "Notifications", "MyPages", "EventBus",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                "PortierTelemetry",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "portier-micro",
            dependencies: ["Tokens", "CJWT"],
            path: "bench/micro",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PortierTestSupport",
            dependencies: [
                "Tokens",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/Support",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TokensTests",
            dependencies: ["Tokens", "CJWT", "PortierTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TokenServerTests",
            dependencies: [
                "TokenServer", "Tokens", "PortierHTTP", "PortierClients", "PortierTestSupport", "CJWT", "EventBus",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HotelTests",
            dependencies: [
                "PortierTestSupport", "Tokens", "EventBus",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EventBusTests",
            dependencies: [
                "EventBus", "HotelEvents", "HotelSupport", "PortierTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MyPagesTests",
            dependencies: ["MyPages", "EventBus", "HotelEvents", "HotelAPI", "PortierTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HotelAPITests",
            dependencies: ["HotelAPI"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "PortierTracingTests", dependencies: ["PortierTracing"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ResilienceTests",
            dependencies: ["Resilience"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "TokenServer", "Tokens", "PortierHTTP", "PortierClients", "PortierTestSupport", "PortierTracing", "Resilience",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Fuzz targets (Fuzz/README.md): `make fuzz` links them with libFuzzer in .build-fuzz; in this
        // build they are replay tools for a corpus or a crash input. They must not pull in NIO,
        // Hummingbird or GRDB, so the sanitizer build stays short.
        .target(name: "FuzzSupport", path: "Fuzz/Support", swiftSettings: swiftSettings),
        .executableTarget(name: "FuzzRoutes", dependencies: ["FuzzSupport", "GatewayConfig"], path: "Fuzz/Routes", swiftSettings: swiftSettings),
        .executableTarget(
            name: "FuzzRouteMatch", dependencies: ["FuzzSupport", "GatewayConfig"], path: "Fuzz/RouteMatch", swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FuzzGatewayHeaders", dependencies: ["FuzzSupport", "GatewayHeaders"], path: "Fuzz/GatewayHeaders", swiftSettings: swiftSettings
        ),
        .executableTarget(name: "FuzzForms", dependencies: ["FuzzSupport", "OAuthForms"], path: "Fuzz/Forms", swiftSettings: swiftSettings),
        .executableTarget(name: "FuzzTokens", dependencies: ["FuzzSupport", "Tokens"], path: "Fuzz/Tokens", swiftSettings: swiftSettings),
        .executableTarget(
            name: "FuzzEvents", dependencies: ["FuzzSupport", "EventBusModel", "HotelEvents"], path: "Fuzz/Events", swiftSettings: swiftSettings
        ),
        .executableTarget(name: "FuzzHotelAPI", dependencies: ["FuzzSupport", "HotelAPI"], path: "Fuzz/HotelAPI", swiftSettings: swiftSettings),
        .executableTarget(name: "FuzzRequestPath", dependencies: ["FuzzSupport"], path: "Fuzz/RequestPath", swiftSettings: swiftSettings),
        .executableTarget(
            name: "FuzzTraceParent", dependencies: ["FuzzSupport", "PortierTracing"], path: "Fuzz/TraceParent", swiftSettings: swiftSettings
        ),
    ]
)
