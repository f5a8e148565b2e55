import Foundation
import GRDB
import Hummingbird
import PortierTestSupport
import Synchronization
import Testing

/// Services that are down, killed or doubled: bookings keep working where the seed says they
/// must, and every event takes effect exactly once in the end.
@Suite(.serialized) struct FaultTests {
    @Test(arguments: HotelStack.LogEngine.allCases) func bookingsWorkWhileNotificationsIsDownAndEveryMissedOneArrivesOnce(eventLog: HotelStack.LogEngine) async throws {
        try await HotelStack.run(eventLog: eventLog) { hotel in
            let room = try await hotel.registerRoom(hostID: 3)
            try await hotel.stop("notifications")
            #expect(try await hotel.get("/notifications?recipient=guest:20").status == 502, "it really is down")

            var books: [Int] = []
            for index in 0..<3 {
                let response = try await hotel.book(room: room, guest: 20, nightsFromNow: 10 + index * 5)
                #expect(response.status == 201, "\(response.text)")
                books.append(response.json["id"] as? Int ?? 0)
            }
            #expect(try await hotel.delete("/books/\(books[0])").status == 200)

            try await hotel.start(.notifications)
            // 3 payment_approved + 1 payment_canceled for the guest, 3 booked + 1 book_canceled for the host.
            #expect(try await eventually {
                let guest = try await hotel.notifications("guest:20").count
                let host = try await hotel.notifications("host:3").count
                return guest == 4 && host == 4
            })
            // Once the group has committed past every event, nothing more can be delivered to it.
            #expect(try await eventually { try await hotel.hasConsumedEverything(group: "notifications") })
            let guest = try await hotel.notifications("guest:20")
            let host = try await hotel.notifications("host:3")
            #expect(guest.count == 4 && host.count == 4, "no duplicates, and none still to come")
            #expect(Set(guest.map { "\($0["kind"]!)-\($0["bookId"]!)" }).count == 4)
            #expect(guest.filter { $0["kind"] as? String == "payment_canceled" }.map { $0["bookId"] as? Int } == [books[0]])
            #expect(try await hotel.number("notifications", "SELECT COUNT(*) FROM dead_letters") == 0)
        }
    }

    @Test func paymentsDownAnswersAFast503AndStoresNothing() async throws {
        try await HotelStack.run { hotel in
            let room = try await hotel.registerRoom()
            // Make sure books knows the room before payments goes away.
            #expect(try await hotel.book(room: room, guest: 30, nightsFromNow: 10).status == 201)
            try await hotel.stop("payments")

            // Books answers for itself: had it waited for payments, the gateway would have answered
            // 504 upstream_timeout after the route's timeout instead. No stopwatch needed.
            let refused = try await hotel.book(room: room, guest: 31, nightsFromNow: 20)
            #expect(refused.status == 503)
            #expect(refused.json["error"] as? String == "service_unavailable")
            #expect(refused.json["error_description"] as? String == "payment is busy, please try again in a moment")
            #expect(refused.header("Retry-After") != nil)
            #expect(try await hotel.get("/books?guestId=31").json["total"] as? Int == 0, "no booking row")
            #expect(try await hotel.number("books", "SELECT COUNT(*) FROM holds") == 0, "no hold left behind")

            try await hotel.start(.payments)
            #expect(try await eventually { try await hotel.book(room: room, guest: 31, nightsFromNow: 20).status == 201 })
            #expect(try await hotel.get("/books?guestId=31").json["total"] as? Int == 1)
        }
    }

    /// books dies after payments was asked and before the booking was stored: the guard written
    /// with the hold voids the payment once its time is up, so no money stays taken.
    @Test func aBooksCrashBetweenPayingAndStoringEndsInAVoidedPayment() async throws {
        try await HotelStack.run { hotel in
            try await hotel.stop("books")
            try await hotel.start(.books, extraArguments: ["--hold-seconds", "2"])
            let room = try await hotel.registerRoom()
            #expect(try await hotel.book(room: room, guest: 70, nightsFromNow: 10).status == 201)

            // Payments stops answering; the next booking waits in books for it.
            let payments = hotel.processes["payments"]!
            payments.signal(SIGSTOP)
            // Only once it is really stopped can the request below not be read before the kill.
            #expect(try await eventually { payments.isStopped })
            let attempt = Task { try? await hotel.book(room: room, guest: 71, nightsFromNow: 20) }
            // The hold comes with a guard for its payment. The hold goes away when books' payment
            // timeout (2 s) passes, but the guard stays until the payment is settled, so a slow
            // machine cannot miss it.
            #expect(try await eventually { try await hotel.number("books", "SELECT COUNT(*) FROM pending_voids") == 1 }, "the hold and its guard are placed")
            let bookID = try await hotel.number("books", "SELECT book_id FROM pending_voids")
            // The payment request has reached the stopped payments process: its bytes wait in the socket.
            let paymentsPort = hotel.ports["payments"]!
            #expect(try await eventually { TCPQueues.bytesWaitingToBeRead(onLocalPort: paymentsPort) > 0 }, "the payment request arrived")
            try await hotel.stop("books", signal: SIGKILL)
            payments.signal(SIGCONT)
            _ = await attempt.value

            // Payments may still approve the request it had received (money taken, no booking), or
            // drop it with the closed connection. Either way books, restarted, voids that booking's
            // payment once the hold has expired: cancelled if it was approved, a tombstone if not.
            try await hotel.start(.books, extraArguments: ["--hold-seconds", "2"])
            #expect(try await eventually(timeout: .seconds(60)) {
                try await hotel.number("payments", "SELECT COUNT(*) FROM payments WHERE book_id = \(bookID) AND status IN ('Canceled', 'Voided')") == 1
            }, "books voided the payment of the booking it never stored")
            #expect(try await hotel.number("payments", "SELECT COUNT(*) FROM payments WHERE status = 'Approved' AND guest_id = 71") == 0, "no money kept")
            #expect(try await hotel.get("/books?guestId=71").json["total"] as? Int == 0)
            #expect(try await eventually { try await hotel.number("books", "SELECT COUNT(*) FROM pending_voids") == 0 }, "the guard is settled")
        }
    }

    @Test(arguments: HotelStack.LogEngine.allCases) func aConsumerKilledMidStreamLosesAndDuplicatesNothing(eventLog: HotelStack.LogEngine) async throws {
        try await HotelStack.run(eventLog: eventLog) { hotel in
            let rooms = [try await hotel.registerRoom(hostID: 5), try await hotel.registerRoom(hostID: 5)]
            let bookings = 24
            func book(_ index: Int) async throws {
                let response = try await hotel.book(room: rooms[index % 2], guest: 40 + index % 3, nightsFromNow: 10 + (index / 2) * 3)
                #expect(response.status == 201, "\(response.text)")
            }
            for index in 0..<bookings / 2 { try await book(index) }
            // The projection is killed once it has applied some events, while more are still to come:
            // the second half of the bookings is only made after the kill.
            #expect(try await eventually { try await hotel.number("mypages", "SELECT COUNT(*) FROM processed_events") >= 4 })
            try await hotel.stop("mypages", signal: SIGKILL)
            let appliedBeforeKill = try await hotel.number("mypages", "SELECT COUNT(*) FROM processed_events")
            #expect(appliedBeforeKill > 0 && appliedBeforeKill < bookings * 2, "killed mid-stream (\(appliedBeforeKill) applied)")
            for index in bookings / 2..<bookings { try await book(index) }
            try await hotel.start(.mypages)

            #expect(try await eventually { try await hotel.hasConsumedEverything(group: "mypages") })
            let page = try await hotel.get("/mypages?hostId=5&size=100").json
            #expect(page["total"] as? Int == bookings)
            let rows = page["items"] as? [[String: Any]] ?? []
            #expect(rows.allSatisfy { $0["bookingStatus"] as? String == "Booked" && $0["paymentStatus"] as? String == "Approved" })
            #expect(try await hotel.number("mypages", "SELECT COUNT(*) FROM processed_events") == bookings * 2, "each event applied once")
            #expect(try await hotel.number("mypages", "SELECT COUNT(*) FROM dead_letters") == 0)
        }
    }

    /// The PostgreSQL that holds every store and the log goes away abruptly and comes back.
    /// Meanwhile every service says it is not ready and a booking is refused with a 503 that says
    /// to retry, storing nothing; afterwards everything flows again by itself: each event notified
    /// and projected once.
    @Test func postgresRestartedMidLoadLosesNothing() async throws {
        // A cluster of its own: stopping the shared one would fail the tests running beside this one.
        let server = try await PostgresServer.startPrivate()
        defer { server.shutdown() }
        try await HotelStack.run(databaseURL: try await server.createDatabase("restart")) { hotel in
            let room = try await hotel.registerRoom(hostID: 8)
            var books: [Int] = []
            for index in 0..<3 {
                let response = try await hotel.book(room: room, guest: 60, nightsFromNow: 10 + index * 3)
                #expect(response.status == 201, "\(response.text)")
                books.append(response.json["id"] as? Int ?? 0)
            }
            let services: [HotelStack.Service] = [.rooms, .books, .payments, .notifications, .mypages]
            @Sendable func readiness() async throws -> [Int] {
                var statuses: [Int] = []
                for service in services {
                    statuses.append(try await HTTP.request(.GET, "http://127.0.0.1:\(hotel.ports[service.rawValue] ?? 0)/health/ready").status)
                }
                return statuses
            }
            #expect(try await readiness() == [200, 200, 200, 200, 200])

            try await server.stop(immediately: true)
            #expect(try await eventually { try await readiness() == [503, 503, 503, 503, 503] }, "every service reports its database unavailable")
            let refused = try await hotel.book(room: room, guest: 60, nightsFromNow: 40)
            #expect(refused.status == 503, "booking while the database is down: \(refused.text)")
            #expect(!refused.headers["Retry-After"].isEmpty && refused.json["error"] as? String == "service_unavailable", "\(refused.text)")
            #expect(try await hotel.delete("/books/\(books[0])").status == 503, "a cancellation is refused too, not half done")

            try await server.start()
            #expect(try await eventually(timeout: .seconds(60)) { try await readiness() == [200, 200, 200, 200, 200] }, "ready again by themselves")
            for index in 3..<6 {
                let response = try await hotel.book(room: room, guest: 60, nightsFromNow: 10 + index * 3)
                #expect(response.status == 201, "booking after the restart: \(response.text)")
                books.append(response.json["id"] as? Int ?? 0)
            }
            #expect(try await hotel.delete("/books/\(books[0])").status == 200)
            for group in ["notifications", "mypages", "payments"] {
                let caughtUp = try await eventually(timeout: .seconds(60)) { try await hotel.hasConsumedEverything(group: group) }
                #expect(caughtUp, "\(group) caught up")
                if !caughtUp {
                    // What the processes said is the only way to see why, after the fact.
                    let status = try? await hotel.eventLogStatus()
                    Issue.record("log: \(String(describing: status))")
                    for name in ["books", "payments", group] {
                        Issue.record("\(name): \(hotel.processes[name]?.lines.suffix(25).joined(separator: "\n") ?? "")")
                    }
                }
            }
            // 6 approvals and 1 cancellation for the guest; 6 bookings and 1 cancellation for the host; each once.
            let guest = try await hotel.notifications("guest:60")
            let host = try await hotel.notifications("host:8")
            #expect(guest.count == 7 && host.count == 7, "guest \(guest.count), host \(host.count)")
            #expect(Set(guest.map { "\($0["kind"] ?? "")-\($0["bookId"] ?? "")" }).count == 7)
            let page = try await hotel.get("/mypages?hostId=8&size=100").json
            #expect(page["total"] as? Int == 6)
            let canceled = (page["items"] as? [[String: Any]] ?? []).filter { $0["bookingStatus"] as? String == "Canceled" }
            #expect(canceled.map { $0["bookId"] as? Int } == [books[0]])
            let first = books[0]
            #expect(try await eventually {
                try await hotel.get("/payments?bookId=\(first)").json["items"].flatMap { ($0 as? [[String: Any]])?.first?["status"] as? String } == "Canceled"
            })
            for service in ["notifications", "mypages", "payments"] {
                #expect(try await hotel.number(service, "SELECT COUNT(*) FROM dead_letters") == 0)
            }
        }
    }

    /// Two replicas of notifications share one database and one consumer group. Deliveries are
    /// counted where they land (a webhook receiver), so a notification sent twice would show even
    /// though the notifications table cannot hold it twice.
    @Test(arguments: HotelStack.LogEngine.allCases) func twoReplicasOfAConsumerGroupHandleEachEventOnceInTotal(eventLog: HotelStack.LogEngine) async throws {
        let receiver = WebhookReceiver()
        let signal = PortSignal()
        try await LiveServer.run(receiver.application(signal), port: signal) { hookPort in
            try await HotelStack.run(eventLog: eventLog) { hotel in
                let webhook = ["--webhook-url", "http://127.0.0.1:\(hookPort)/hook"]
                try await hotel.stop("notifications")
                try await hotel.start(.notifications, extraArguments: webhook)
                try await hotel.start(.notifications, port: 0, as: "notifications-2", extraArguments: webhook)
                let room = try await hotel.registerRoom(hostID: 6)
                for index in 0..<5 {
                    #expect(try await hotel.book(room: room, guest: 50, nightsFromNow: 10 + index * 3).status == 201)
                }
                #expect(try await eventually { try await hotel.hasConsumedEverything(group: "notifications") })

                // The member that holds the lease stops; the other must take over and carry on.
                let pids = ["notifications": hotel.processes["notifications"]?.pid, "notifications-2": hotel.processes["notifications-2"]?.pid]
                let holder = try await hotel.leaseHolderPID(group: "notifications")
                let active = try #require(pids.first { $0.value == holder }?.key, "one of the two holds the lease (holder pid \(String(describing: holder)))")
                let survivor = active == "notifications" ? "notifications-2" : "notifications"
                try await hotel.stop(active)
                for index in 5..<8 {
                    #expect(try await hotel.book(room: room, guest: 50, nightsFromNow: 10 + index * 3).status == 201)
                }
                #expect(try await eventually { try await hotel.hasConsumedEverything(group: "notifications") }, "the standby consumed the rest")
                #expect(try await hotel.leaseHolderPID(group: "notifications") == pids[survivor] ?? nil, "the standby holds the lease now")
                #expect(try await eventually { try await hotel.number("notifications", "SELECT COUNT(*) FROM deliveries WHERE delivered_at IS NULL") == 0 })

                // 8 bookings: 8 notifications for the host and 8 for the guest, each delivered exactly once.
                let deliveries = receiver.deliveries
                #expect(deliveries.count == 16, "\(deliveries.count) webhook deliveries")
                #expect(Set(deliveries).count == deliveries.count, "no notification was delivered twice")
                #expect(Set(deliveries.filter { $0.hasPrefix("host:6 booked") }).count == 8)
                #expect(Set(deliveries.filter { $0.hasPrefix("guest:50 payment_approved") }).count == 8)
                #expect(try await hotel.number("notifications", "SELECT COUNT(*) FROM dead_letters") == 0)
            }
        }
    }
}

/// A webhook endpoint that records every notification POSTed to it as "recipient kind bookId".
final class WebhookReceiver: Sendable {
    private let received = Mutex<[String]>([])

    var deliveries: [String] { received.withLock { $0 } }

    func application(_ signal: PortSignal) -> some ApplicationProtocol {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            var request = request
            let body = try await request.collectBody(upTo: 1 << 16)
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
            let key = "\(object["recipient"] as? String ?? "?") \(object["kind"] as? String ?? "?") \(object["bookId"] as? Int ?? 0)"
            self.received.withLock { $0.append(key) }
            return Response(status: .noContent)
        }
        return Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in await signal.callback(channel.localAddress?.port ?? 0) }, logger: testLogger("hook")
        )
    }
}
