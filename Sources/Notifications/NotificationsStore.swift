import EventBus
import Foundation
import GRDB
import HotelAPI
import HotelEvents
import PortierTelemetry
import PostgresNIO

/// What the notifications service keeps: notifications, each with one delivery per channel.
protocol NotificationsStore: Sendable {
    var bus: any ServiceStore { get }
    /// Stores the notifications an event causes, with a pending delivery per channel.
    func recorder(channels: [String]) -> any EventSink
    func list(_ query: NotificationList) async throws -> (notifications: [Notification], total: Int)
    /// Up to `limit` due deliveries, claimed until `claimUntil`: another worker (a replica) skips
    /// them until the claim lapses.
    func claimDue(now: Double, claimUntil: Double, limit: Int) async throws -> [DueDelivery]
    /// Records what happened to claimed deliveries; `released` ones are due again at once.
    func finish(_ outcomes: [DeliveryOutcome], released: [DeliveryKey], at time: Double) async throws
}

struct DeliveryKey: Sendable {
    var notificationID: Int64
    var channel: String
}

struct DueDelivery: Sendable {
    var notification: Notification
    var channel: String
    var attempts: Int
    /// The context the notification was created in (handling its event), which its delivery continues.
    var trace: TraceHeaders
    var key: DeliveryKey { DeliveryKey(notificationID: notification.id, channel: channel) }
}

struct DeliveryOutcome: Sendable {
    var key: DeliveryKey
    /// Attempts before this one.
    var attempts: Int
    var error: String?

    /// After a failure: attempts so far, whether to give up, and when to try again (1 s doubling to a minute).
    func retry(at time: Double) -> (attempts: Int, failed: Bool, next: Double) {
        let attempts = self.attempts + 1
        return (attempts, attempts >= 10, time + min(60, pow(2, Double(attempts - 1))))
    }
}

enum NotificationRules {
    /// The messages an event causes; none for an event the service does not follow.
    static func messages(for event: EventEnvelope) throws -> [(recipient: String, kind: String, text: String)] {
        switch event.type {
        case PaymentApproved.type:
            let paid = try event.decode(PaymentApproved.self)
            let b = paid.booking
            return [
                ("guest:\(b.guestID)", "payment_approved",
                 "Payment of \(paid.amount) approved for booking #\(b.bookID): \(b.roomName), \(b.startDate) to \(b.endDate).")
            ]
        case Booked.type:
            let b = try event.decode(Booked.self).booking
            return [
                ("host:\(b.hostID)", "booked", "Room \(b.roomName) was booked by guest \(b.guestID) from \(b.startDate) to \(b.endDate) (booking #\(b.bookID)).")
            ]
        case BookCanceled.type:
            let b = try event.decode(BookCanceled.self).booking
            return [
                ("host:\(b.hostID)", "book_canceled",
                 "Booking #\(b.bookID) of room \(b.roomName) (\(b.startDate) to \(b.endDate)) was cancelled by guest \(b.guestID).")
            ]
        case PaymentCanceled.type:
            let canceled = try event.decode(PaymentCanceled.self)
            return [
                ("guest:\(canceled.booking.guestID)", "payment_canceled",
                 "Payment of \(canceled.amount) for booking #\(canceled.booking.bookID) was cancelled and refunded.")
            ]
        default:
            return []
        }
    }

    static func state(delivered: Bool, failed: Bool) -> String {
        delivered ? "delivered" : (failed ? "failed" : "pending")
    }

    static func filter(_ query: NotificationList) -> (column: String, text: String?, number: Int64?) {
        switch query.filter {
        case .recipient(let recipient): ("recipient", recipient, nil)
        case .book(let id): ("book_id", nil, id)
        }
    }
}

/// Notifications in the service's SQLite file.
struct SQLiteNotificationsStore: NotificationsStore {
    let database: ServiceDatabase
    var bus: any ServiceStore { database }

    init(path: String) throws {
        database = try ServiceDatabase(path: path, source: NotificationsService.name) { migrator in
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
            // The context a notification was created in, so its delivery joins the booking's trace.
            migrator.registerMigration("notifications-v2-trace") { db in
                try db.execute(sql: "ALTER TABLE notifications ADD COLUMN traceparent TEXT; ALTER TABLE notifications ADD COLUMN tracestate TEXT")
            }
        }
    }

    func recorder(channels: [String]) -> any EventSink {
        database.sink { event, db in
            let now = Date().timeIntervalSince1970
            let trace = EventTracing.currentContext()
            for message in try NotificationRules.messages(for: event) {
                try db.cachedStatement(
                    sql: "INSERT INTO notifications (event_id, recipient, book_id, kind, message, created_at, traceparent, tracestate) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                ).execute(arguments: [event.id, message.recipient, event.bookID, message.kind, message.text, now, trace.traceParent, trace.traceState])
                let id = db.lastInsertedRowID
                for channel in channels {
                    try db.cachedStatement(sql: "INSERT INTO deliveries (notification_id, channel, next_attempt_at) VALUES (?, ?, 0)")
                        .execute(arguments: [id, channel])
                }
            }
        }
    }

    func list(_ query: NotificationList) async throws -> (notifications: [Notification], total: Int) {
        let filter = NotificationRules.filter(query)
        let value: DatabaseValue = filter.text.map(\.databaseValue) ?? (filter.number ?? 0).databaseValue
        let page = query.page
        return try await database.read { db in
            let total = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM notifications WHERE \(filter.column) = ?", arguments: [value]) ?? 0
            let rows = try Row.fetchAll(
                db, sql: "SELECT * FROM notifications WHERE \(filter.column) = ? ORDER BY id DESC LIMIT ? OFFSET ?", arguments: [value, page.size, page.offset]
            )
            let items = try rows.map { row -> Notification in
                let id: Int64 = try row.decode(forColumn: "id")
                var deliveries: [String: String] = [:]
                for delivery in try Row.fetchAll(db, sql: "SELECT channel, delivered_at, failed FROM deliveries WHERE notification_id = ?", arguments: [id]) {
                    let delivered = try delivery.decode(Double?.self, forColumn: "delivered_at") != nil
                    deliveries[try delivery.decode(forColumn: "channel")] = NotificationRules.state(
                        delivered: delivered, failed: try delivery.decode(Int.self, forColumn: "failed") == 1
                    )
                }
                return try Notification(row: row, deliveries: deliveries)
            }
            return (items, total)
        }
    }

    func claimDue(now: Double, claimUntil: Double, limit: Int) async throws -> [DueDelivery] {
        try await database.write { db -> [DueDelivery] in
            let due = try Row.fetchAll(
                db,
                sql: """
                    SELECT n.*, d.channel, d.attempts FROM deliveries d JOIN notifications n ON n.id = d.notification_id
                    WHERE d.delivered_at IS NULL AND d.failed = 0 AND d.next_attempt_at <= ? ORDER BY d.notification_id LIMIT ?
                    """,
                arguments: [now, limit]
            ).map { row in
                DueDelivery(
                    notification: try Notification(row: row, deliveries: [:]), channel: try row.decode(String.self, forColumn: "channel"),
                    attempts: try row.decode(Int.self, forColumn: "attempts"),
                    trace: TraceHeaders(traceParent: try row.decode(forColumn: "traceparent"), traceState: try row.decode(forColumn: "tracestate"))
                )
            }
            let claim = try db.cachedStatement(sql: "UPDATE deliveries SET next_attempt_at = ? WHERE notification_id = ? AND channel = ?")
            for item in due { try claim.execute(arguments: [claimUntil, item.notification.id, item.channel]) }
            return due
        }
    }

    func finish(_ outcomes: [DeliveryOutcome], released: [DeliveryKey], at time: Double) async throws {
        try await database.pool.write { db in
            for key in released {
                try db.cachedStatement(sql: "UPDATE deliveries SET next_attempt_at = ? WHERE notification_id = ? AND channel = ?")
                    .execute(arguments: [time, key.notificationID, key.channel])
            }
            for outcome in outcomes {
                if outcome.error == nil {
                    try db.cachedStatement(sql: "UPDATE deliveries SET delivered_at = ?, attempts = attempts + 1 WHERE notification_id = ? AND channel = ?")
                        .execute(arguments: [time, outcome.key.notificationID, outcome.key.channel])
                } else {
                    let retry = outcome.retry(at: time)
                    try db.execute(
                        sql: "UPDATE deliveries SET attempts = ?, failed = ?, next_attempt_at = ? WHERE notification_id = ? AND channel = ?",
                        arguments: [retry.attempts, retry.failed ? 1 : 0, retry.next, outcome.key.notificationID, outcome.key.channel]
                    )
                }
            }
        }
    }
}

/// Notifications in PostgreSQL, schema `portier_notifications`.
struct PostgresNotificationsStore: NotificationsStore {
    let database: PostgresServiceDatabase
    var bus: any ServiceStore { database }

    static let migrator = PostgresServiceDatabase.migrator(
        schema: "portier_notifications",
        migrations: [
            .init(
                "notifications-v1",
                [
                    """
                    CREATE TABLE portier_notifications.notifications (
                        id bigserial PRIMARY KEY,
                        event_id text NOT NULL,
                        recipient text NOT NULL,
                        book_id bigint,
                        kind text NOT NULL,
                        message text NOT NULL,
                        created_at double precision NOT NULL,
                        UNIQUE (event_id, recipient)
                    )
                    """,
                    "CREATE INDEX notifications_recipient ON portier_notifications.notifications (recipient, id)",
                    "CREATE INDEX notifications_book ON portier_notifications.notifications (book_id)",
                    """
                    CREATE TABLE portier_notifications.deliveries (
                        notification_id bigint NOT NULL REFERENCES portier_notifications.notifications (id),
                        channel text NOT NULL,
                        attempts bigint NOT NULL DEFAULT 0,
                        next_attempt_at double precision NOT NULL,
                        delivered_at double precision,
                        failed boolean NOT NULL DEFAULT false,
                        PRIMARY KEY (notification_id, channel)
                    )
                    """,
                    "CREATE INDEX deliveries_due ON portier_notifications.deliveries (next_attempt_at) WHERE delivered_at IS NULL AND NOT failed",
                ]
            ),
            // The context a notification was created in, so its delivery joins the booking's trace.
            .init(
                "notifications-v2-trace",
                ["ALTER TABLE portier_notifications.notifications ADD COLUMN traceparent text, ADD COLUMN tracestate text"]
            ),
        ]
    )

    init(log: PostgresEventLog) {
        database = PostgresServiceDatabase(log: log, migrator: Self.migrator, source: NotificationsService.name)
    }

    func recorder(channels: [String]) -> any EventSink {
        database.sink { [database] event, connection in
            let now = Date().timeIntervalSince1970
            let trace = EventTracing.currentContext()
            for message in try NotificationRules.messages(for: event) {
                let inserted = try await connection.query(
                    """
                    INSERT INTO notifications (event_id, recipient, book_id, kind, message, created_at, traceparent, tracestate)
                    VALUES (\(event.id), \(message.recipient), \(event.bookID), \(message.kind), \(message.text), \(now),
                            \(trace.traceParent), \(trace.traceState))
                    RETURNING id
                    """,
                    logger: database.logger
                )
                guard let id = try await inserted.single(Int64.self) else { continue }
                try await connection.query(
                    "INSERT INTO deliveries (notification_id, channel, next_attempt_at) SELECT \(id), unnest(\(channels)::text[]), 0",
                    logger: database.logger
                )
            }
        }
    }

    func list(_ query: NotificationList) async throws -> (notifications: [Notification], total: Int) {
        let filter = NotificationRules.filter(query)
        let page = query.page
        var condition = PostgresBindings()
        if let text = filter.text { condition.append(text) } else { condition.append(filter.number ?? 0) }
        var listing = condition
        listing.append(Int64(page.size))
        listing.append(Int64(page.offset))
        let count = PostgresQuery(unsafeSQL: "SELECT count(*)::int8 FROM notifications WHERE \(filter.column) = $1", binds: condition)
        let select = PostgresQuery(
            unsafeSQL: "SELECT * FROM notifications WHERE \(filter.column) = $1 ORDER BY id DESC LIMIT $2 OFFSET $3", binds: listing
        )
        return try await database.read { [database] connection in
            let total = try await connection.query(count, logger: database.logger).single(Int64.self) ?? 0
            var items = try await Notification.all(try await connection.query(select, logger: database.logger))
            let ids = items.map(\.id)
            var states: [Int64: [String: String]] = [:]
            for try await (id, channel, delivered, failed) in try await connection.query(
                "SELECT notification_id, channel, delivered_at IS NOT NULL, failed FROM deliveries WHERE notification_id = ANY(\(ids)::int8[])",
                logger: database.logger
            ).decode((Int64, String, Bool, Bool).self) {
                states[id, default: [:]][channel] = NotificationRules.state(delivered: delivered, failed: failed)
            }
            for index in items.indices { items[index].deliveries = states[items[index].id] ?? [:] }
            return (items, Int(total))
        }
    }

    /// `SKIP LOCKED`: replicas claiming at the same moment take different deliveries instead of
    /// waiting for each other.
    func claimDue(now: Double, claimUntil: Double, limit: Int) async throws -> [DueDelivery] {
        try await database.write { [database] connection -> [DueDelivery] in
            var due: [DueDelivery] = []
            for try await row in try await connection.query(
                """
                WITH due AS (
                    SELECT notification_id, channel FROM deliveries
                    WHERE delivered_at IS NULL AND NOT failed AND next_attempt_at <= \(now)
                    ORDER BY notification_id LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED),
                claimed AS (
                    UPDATE deliveries d SET next_attempt_at = \(claimUntil) FROM due
                    WHERE d.notification_id = due.notification_id AND d.channel = due.channel
                    RETURNING d.notification_id, d.channel, d.attempts)
                SELECT n.*, claimed.channel, claimed.attempts FROM claimed JOIN notifications n ON n.id = claimed.notification_id
                ORDER BY n.id
                """,
                logger: database.logger
            ) {
                let fields = row.makeRandomAccess()
                due.append(
                    DueDelivery(
                        notification: try Notification(postgres: fields), channel: try fields.value("channel"),
                        attempts: Int(try fields.value("attempts", as: Int64.self)),
                        trace: TraceHeaders(traceParent: try fields.value("traceparent"), traceState: try fields.value("tracestate"))
                    )
                )
            }
            return due
        }
    }

    /// One statement per kind of outcome, for the whole batch.
    func finish(_ outcomes: [DeliveryOutcome], released: [DeliveryKey], at time: Double) async throws {
        let delivered = outcomes.filter { $0.error == nil }.map(\.key)
        let failed = outcomes.filter { $0.error != nil }.map { ($0.key, $0.retry(at: time)) }
        try await database.write { [database] connection in
            let logger = database.logger
            if !released.isEmpty {
                try await connection.query(
                    """
                    UPDATE deliveries d SET next_attempt_at = \(time)
                    FROM unnest(\(released.map(\.notificationID))::int8[], \(released.map(\.channel))::text[]) AS u(id, channel)
                    WHERE d.notification_id = u.id AND d.channel = u.channel
                    """,
                    logger: logger
                )
            }
            if !delivered.isEmpty {
                try await connection.query(
                    """
                    UPDATE deliveries d SET delivered_at = \(time), attempts = d.attempts + 1
                    FROM unnest(\(delivered.map(\.notificationID))::int8[], \(delivered.map(\.channel))::text[]) AS u(id, channel)
                    WHERE d.notification_id = u.id AND d.channel = u.channel
                    """,
                    logger: logger
                )
            }
            if !failed.isEmpty {
                try await connection.query(
                    """
                    UPDATE deliveries d SET attempts = u.attempts, failed = u.failed, next_attempt_at = u.next
                    FROM unnest(\(failed.map(\.0.notificationID))::int8[], \(failed.map(\.0.channel))::text[], \(failed.map { Int64($0.1.attempts) })::int8[],
                                \(failed.map(\.1.failed))::bool[], \(failed.map(\.1.next))::float8[]) AS u(id, channel, attempts, failed, next)
                    WHERE d.notification_id = u.id AND d.channel = u.channel
                    """,
                    logger: logger
                )
            }
        }
    }
}

extension Notification: PostgresRecord {
    /// Without its deliveries, which come from another table.
    public init(postgres row: PostgresRandomAccessRow) throws {
        id = try row.value("id")
        recipient = try row.value("recipient")
        bookId = try row.value("book_id")
        kind = try row.value("kind")
        message = try row.value("message")
        createdAt = Date(timeIntervalSince1970: try row.value("created_at"))
        deliveries = [:]
    }
}
