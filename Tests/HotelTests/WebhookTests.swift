import Foundation
import Hummingbird
import PortierTestSupport
import Synchronization
import Testing

/// The webhook channel (standing for e-mail or app push): every notification is POSTed, and a
/// failing receiver gets the same notification again later.
@Suite(.serialized) struct WebhookTests {
    final class Receiver: Sendable {
        let failuresLeft = Atomic<Int>(1)
        /// Recipients of the notifications received, in order.
        let received = Mutex<[String]>([])

        func application(_ signal: PortSignal) -> some ApplicationProtocol {
            let router = Router()
            router.post("/hook") { request, _ -> Response in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 16)
                if self.failuresLeft.subtract(1, ordering: .relaxed).oldValue > 0 {
                    return Response(status: .serviceUnavailable)
                }
                let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
                let recipient = object["recipient"] as? String ?? "?"
                self.received.withLock { $0.append(recipient) }
                return Response(status: .noContent)
            }
            return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), onServerRunning: { channel in
                await signal.callback(channel.localAddress?.port ?? 0)
            }, logger: testLogger("hook"))
        }

        var count: Int { received.withLock { $0.count } }
        var recipients: Set<String> { received.withLock { Set($0) } }
    }

    @Test(arguments: HotelStack.LogEngine.allCases) func notificationsArePostedAndRetried(engine: HotelStack.LogEngine) async throws {
        let receiver = Receiver()
        let signal = PortSignal()
        try await LiveServer.run(receiver.application(signal), port: signal) { hookPort in
            try await HotelStack.run(eventLog: engine) { hotel in
                try await hotel.stop("notifications")
                try await hotel.start(.notifications, extraArguments: ["--webhook-url", "http://127.0.0.1:\(hookPort)/hook"])
                let room = try await hotel.registerRoom(hostID: 9)
                #expect(try await hotel.book(room: room, guest: 90, nightsFromNow: 10).status == 201)

                // The first POST fails (503); the retry a second later delivers it.
                #expect(try await eventually { receiver.count == 2 })
                #expect(receiver.recipients == ["guest:90", "host:9"])
                let guest = try await hotel.notifications("guest:90")
                #expect(try await eventually {
                    let deliveries = try await hotel.notifications("guest:90").first?["deliveries"] as? [String: String]
                    return deliveries == ["log": "delivered", "webhook": "delivered"]
                }, "\(guest)")
            }
        }
    }
}
