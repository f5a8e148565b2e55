import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOPosix
import PortierHTTP

/// The gateway's operational endpoints (/metrics, /health/live, /health/ready) on their own
/// listener, bound to loopback by default: metrics name every route and upstream, which is nothing
/// for the public port (Kong's admin API and Envoy's admin interface are separate listeners too).
enum AdminListener {
    static func server(
        core: GatewayCore, settings: GatewaySettings, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void
    ) -> Server<AdminChildChannel> {
        Server(
            childChannelSetup: AdminChildChannel(core: core),
            configuration: .init(address: .hostname(settings.adminHost, port: settings.adminPort), serverName: "portier-gateway-admin"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? settings.adminPort
                logger.info("gateway admin listener ready", metadata: ["host": .string(settings.adminHost), "port": .stringConvertible(port)])
                await onServerRunning(port)
            },
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            logger: logger
        )
    }
}

/// One admin connection: HTTP/1 codec, then ``AdminChannelHandler``.
struct AdminChildChannel: ServerChildChannel {
    let core: GatewayCore

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<GatewayConnection> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: .seconds(60)))
            try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
            try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try channel.pipeline.syncOperations.addHandler(AdminChannelHandler(core: core))
            return GatewayConnection(channel: channel)
        }
    }

    func handle(value: GatewayConnection, logger: Logger) async {
        try? await value.channel.closeFuture.get()
    }
}

/// Answers each admin request from ``GatewayCore/adminResponse(path:method:)``; bodies are ignored.
final class AdminChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private let core: GatewayCore
    private var head: HTTPRequest?

    init(core: GatewayCore) {
        self.core = core
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            let rawPath = request.path ?? "/"
            let path = rawPath.firstIndex(of: "?").map { rawPath[..<$0] } ?? rawPath[...]
            let response = core.adminResponse(path: path, method: request.method)
            let close = request.headerFields[values: .connection].contains { $0.lowercased().contains("close") }
            var fields = response.headers
            fields[.contentLength] = String(response.body.readableBytes)
            if close { fields[.connection] = "close" }
            context.write(wrapOutboundOut(.head(HTTPResponse(status: response.status, headerFields: fields))), promise: nil)
            if request.method != .head, response.body.readableBytes > 0 {
                context.write(wrapOutboundOut(.body(response.body)), promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            if close { context.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent || (event as? IdleStateHandler.IdleStateEvent) == .read {
            if head == nil { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

extension GatewayCore {
    /// What the admin listener answers: Prometheus metrics, the health probes, 404 JSON otherwise.
    func adminResponse(path: Substring, method: HTTPRequest.Method) -> LocalResponse {
        let requestID = RequestID.make()
        var response = adminResponse(path: path, method: method, requestID: requestID)
        response.headers[.xRequestID] = requestID
        return response
    }

    private func adminResponse(path: Substring, method: HTTPRequest.Method, requestID: String) -> LocalResponse {
        guard method == .get || method == .head else {
            return LocalResponse(.methodNotAllowed(allowed: [.get, .head]), requestID: requestID)
        }
        if path == "/metrics" {
            return LocalResponse(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ByteBuffer(bytes: metrics.render(routes: table.routes))
            )
        }
        if path.hasPrefix("/health/"), let probe = builtIn(path: path, method: method) { return probe }
        return LocalResponse(.notFound("the admin listener serves /metrics, /health/live and /health/ready"), requestID: requestID)
    }
}
