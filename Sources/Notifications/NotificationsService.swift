import AsyncHTTPClient
import EventBus
import Foundation
import GRDB
import HotelEvents
import HotelSupport
import Hummingbird
import Logging
import NIOPosix
import PortierHTTP
import ServiceLifecycle

/// The notifications service (F6 guest on PaymentApproved, F7 host on Booked, F11 guest on
/// PaymentCanceled and host on BookCanceled). Every notification is stored with its deliveries in
/// the same transaction as the event is marked processed; a worker then delivers them per channel.
public enum NotificationsService {
    public static let name = "notifications"

    public static func build(
        settings: HotelServiceSettings, webhookURL: String? = nil, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let store = try ServiceDatabase(path: settings.databasePath(name), source: name) { migrator in
            migrator.registerMigration("notifications-v1") { db in
                try db.execute(
                    sql: """
                        CREATE TABLE notifications (
                            id INTEGER PRIMARY KEY AUTOINCREMENT,
                            event_id TEXT NOT NULL,
                            recipient TEXT NOT NULL,
                            book_id INTEGER,
                            kind TEXT NOT NULL,
                            message TEXT NOT NULL,
                            created_at REAL NOT NULL,
                            UNIQUE (event_id, recipient)
                        );
                        CREATE INDEX notifications_recipient ON notifications (recipient, id);
                        CREATE INDEX notifications_book ON notifications (book_id);
                        CREATE TABLE deliveries (
                            notification_id INTEGER NOT NULL,
                            channel TEXT NOT NULL,
                            attempts INTEGER NOT NULL DEFAULT 0,
                            next_attempt_at REAL NOT NULL,
                            delivered_at REAL,
                            failed INTEGER NOT NULL DEFAULT 0,
                            PRIMARY KEY (notification_id, channel)
                        );
                        CREATE INDEX deliveries_due ON deliveries (delivered_at, failed, next_attempt_at);
                        """
                )
            }
        }
        let log = try settings.openEventLog(logger: logger)
        var services: [any Service] = []
        var channels: [any NotificationChannel] = [LogChannel(logger: logger)]
        if let webhookURL {
            let client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton))
            channels.append(WebhookChannel(url: webhookURL, client: client))
            services.append(HTTPClientShutdown(client: client))
        }
        let channelNames = channels.map(\.name)
        let consumer = EventConsumer(
            group: name, log: log, store: store, types: [PaymentApproved.type, Booked.type, BookCanceled.type, PaymentCanceled.type], logger: logger
        ) { event, db in
            try Notifier.record(event, channels: channelNames, in: db)
        }
        services += [consumer, DeliveryWorker(store: store, channels: channels, logger: logger)]
        return HotelService.application(
            name: name, settings: settings, store: store, eventLog: log, logger: logger, services: services, onServerRunning: onServerRunning
        ) { router in
            router.get("/notifications") { request, _ in try await Notifier.list(request, store: store) }
        }
    }
}

struct HTTPClientShutdown: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

enum Notifier {
    /// The notifications an event causes, stored with one pending delivery per channel.
    static func record(_ event: EventEnvelope, channels: [String], in db: Database) throws {
        let messages: [(recipient: String, kind: String, text: String)]
        switch event.type {
        case PaymentApproved.type:
            let paid = try event.decode(PaymentApproved.self)
            let b = paid.booking
            messages = [
                ("guest:\(b.guestID)", "payment_approved",
                 "Payment of \(paid.amount) approved for booking #\(b.bookID): \(b.roomName), \(b.startDate) to \(b.endDate).")
            ]
        case Booked.type:
            let b = try event.decode(Booked.self).booking
            messages = [
                ("host:\(b.hostID)", "booked", "Room \(b.roomName) was booked by guest \(b.guestID) from \(b.startDate) to \(b.endDate) (booking #\(b.bookID)).")
            ]
        case BookCanceled.type:
            let b = try event.decode(BookCanceled.self).booking
            messages = [
                ("host:\(b.hostID)", "book_canceled",
                 "Booking #\(b.bookID) of room \(b.roomName) (\(b.startDate) to \(b.endDate)) was cancelled by guest \(b.guestID).")
            ]
        case PaymentCanceled.type:
            let canceled = try event.decode(PaymentCanceled.self)
            messages = [
                ("guest:\(canceled.booking.guestID)", "payment_canceled",
                 "Payment of \(canceled.amount) for booking #\(canceled.booking.bookID) was cancelled and refunded.")
            ]
        default:
            return
        }
        let now = Date().timeIntervalSince1970
        for message in messages {
            try db.cachedStatement(sql: "INSERT INTO notifications (event_id, recipient, book_id, kind, message, created_at) VALUES (?, ?, ?, ?, ?, ?)")
                .execute(arguments: [event.id, message.recipient, event.bookID, message.kind, message.text, now])
            let id = db.lastInsertedRowID
            for channel in channels {
                try db.cachedStatement(sql: "INSERT INTO deliveries (notification_id, channel, next_attempt_at) VALUES (?, ?, 0)")
                    .execute(arguments: [id, channel])
            }
        }
    }

    /// `?recipient=guest:10` (or `host:3`), or `?bookId=`; newest first.
    static func list(_ request: Request, store: ServiceDatabase) async throws -> Response {
        let query = try RequestDecoding.query(NotificationList.self, from: request)
        let page = query.page
        let filter: (column: String, value: any DatabaseValueConvertible & Sendable) = switch query.filter {
        case .recipient(let recipient): ("recipient", recipient)
        case .book(let id): ("book_id", id)
        }
        let (items, total) = try await store.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM notifications WHERE \(filter.column) = ?", arguments: [filter.value]) ?? 0
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM notifications WHERE \(filter.column) = ? ORDER BY id DESC LIMIT ? OFFSET ?",
                arguments: [filter.value, page.size, page.offset]
            )
            let items = try rows.map { row -> Notification in
                let id: Int64 = row["id"]
                var deliveries: [String: String] = [:]
                for delivery in try Row.fetchAll(db, sql: "SELECT channel, delivered_at, failed FROM deliveries WHERE notification_id = ?", arguments: [id]) {
                    let state = delivery["delivered_at"] != nil ? "delivered" : ((delivery["failed"] as Int) == 1 ? "failed" : "pending")
                    deliveries[delivery["channel"]] = state
                }
                return try Notification(row: row, deliveries: deliveries)
            }
            return (items, total)
        }
        return JSONResponse.make(PageOf(items: items, page: page, total: total))
    }
}

/// Sends pending deliveries through their channels; a failure is retried with backoff (1 s
/// doubling to a minute), ten times, then marked failed. Replicas of the service share the work:
/// each delivery is claimed before it is sent, so two workers never send the same one.
struct DeliveryWorker: Service {
    /// How long a delivery picked up by one worker is hidden from the others.
    static let claimSeconds = 30.0

    let store: ServiceDatabase
    let channels: [any NotificationChannel]
    let logger: Logger

    /// Not cancelled on graceful shutdown: a delivery under way is finished and recorded, because one
    /// cut off after the receiver got it would be sent again by whoever claims it next. Only the
    /// pause between batches ends early.
    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let delivered = await deliverDue()
            if delivered == 0 { await cancelWhenGracefulShutdown { try? await Task.sleep(for: .milliseconds(100)) } }
        }
    }

    func deliverDue() async -> Int {
        let now = Date().timeIntervalSince1970
        // Claimed in the same write transaction that finds them: another replica of this service on
        // the same database skips them until the claim lapses (a worker that died mid-delivery).
        let claimUntil = now + Self.claimSeconds
        guard let due = try? await store.write({ db -> [(notification: Notification, channel: String, attempts: Int)] in
            let due = try Row.fetchAll(
                db,
                sql: """
                    SELECT n.*, d.channel, d.attempts FROM deliveries d JOIN notifications n ON n.id = d.notification_id
                    WHERE d.delivered_at IS NULL AND d.failed = 0 AND d.next_attempt_at <= ? ORDER BY d.notification_id LIMIT 200
                    """,
                arguments: [now]
            ).map { row in
                (
                    notification: try Notification(row: row, deliveries: [:]), channel: try row.decode(String.self, forColumn: "channel"),
                    attempts: try row.decode(Int.self, forColumn: "attempts")
                )
            }
            let claim = try db.cachedStatement(sql: "UPDATE deliveries SET next_attempt_at = ? WHERE notification_id = ? AND channel = ?")
            for item in due { try claim.execute(arguments: [claimUntil, item.notification.id, item.channel]) }
            return due
        }), !due.isEmpty else { return 0 }
        var results: [(id: Int64, channel: String, attempts: Int, error: String?)] = []
        var unsent: [(id: Int64, channel: String)] = []
        for item in due {
            // Once stopping has begun, the rest of the batch is handed back at once instead of waiting out the claim.
            guard !Task.isShuttingDownGracefully else {
                unsent.append((item.notification.id, item.channel))
                continue
            }
            guard let channel = channels.first(where: { $0.name == item.channel }) else { continue }
            do {
                try await channel.deliver(item.notification)
                results.append((item.notification.id, item.channel, item.attempts, nil))
            } catch {
                results.append((item.notification.id, item.channel, item.attempts, "\(error)"))
            }
        }
        let finished = Date().timeIntervalSince1970
        let outcomes = results
        let released = unsent
        _ = try? await store.pool.write { db in
            for item in released {
                try db.cachedStatement(sql: "UPDATE deliveries SET next_attempt_at = ? WHERE notification_id = ? AND channel = ?")
                    .execute(arguments: [finished, item.id, item.channel])
            }
            for outcome in outcomes {
                if outcome.error == nil {
                    try db.cachedStatement(sql: "UPDATE deliveries SET delivered_at = ?, attempts = attempts + 1 WHERE notification_id = ? AND channel = ?")
                        .execute(arguments: [finished, outcome.id, outcome.channel])
                } else {
                    let attempts = outcome.attempts + 1
                    try db.execute(
                        sql: "UPDATE deliveries SET attempts = ?, failed = ?, next_attempt_at = ? WHERE notification_id = ? AND channel = ?",
                        arguments: [attempts, attempts >= 10 ? 1 : 0, finished + min(60, pow(2, Double(attempts - 1))), outcome.id, outcome.channel]
                    )
                }
            }
        }
        for failure in outcomes where failure.error != nil && failure.attempts == 0 {
            logger.warning(
                "notification delivery failed; will retry",
                metadata: ["channel": .string(failure.channel), "notification_id": .stringConvertible(failure.id), "error": .string(failure.error ?? "")]
            )
        }
        return outcomes.count
    }
}
