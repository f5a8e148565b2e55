import AsyncHTTPClient
import EventBus
import Foundation
import HotelEvents
import HotelSupport
import Hummingbird
import Logging
import NIOPosix
import PortierHTTP
import PortierTelemetry
import ServiceLifecycle

/// The notifications service (F6 guest on PaymentApproved, F7 host on Booked, F11 guest on
/// PaymentCanceled and host on BookCanceled). Every notification is stored with its deliveries in
/// the same transaction as the event is marked processed; a worker then delivers them per channel.
public enum NotificationsService {
    public static let name = "notifications"
    /// The service's schema in PostgreSQL (for `portier db migrate`).
    public static var postgresMigrator: PostgresMigrator { PostgresNotificationsStore.migrator }

    public static func build(
        settings: HotelServiceSettings, webhookURL: String? = nil, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let (log, store) = try settings.openStore(name, logger: logger) { path -> any NotificationsStore in
            try SQLiteNotificationsStore(path: path)
        } postgres: { PostgresNotificationsStore(log: $0) }
        var services: [any Service] = []
        var channels: [any NotificationChannel] = [LogChannel(logger: logger)]
        if let webhookURL {
            let client = HTTPClient(eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup.singleton))
            channels.append(WebhookChannel(url: webhookURL, client: client))
            services.append(HTTPClientShutdown(client: client))
        }
        let channelNames = channels.map(\.name)
        let consumer = EventConsumer(
            group: name, log: log, sink: store.recorder(channels: channelNames),
            types: [PaymentApproved.type, Booked.type, BookCanceled.type, PaymentCanceled.type], logger: logger
        )
        services += [consumer, DeliveryWorker(store: store, channels: channels, logger: logger)]
        return HotelService.application(
            name: name, settings: settings, store: store.bus, eventLog: log, logger: logger, services: services, onServerRunning: onServerRunning
        ) { router in
            router.get("/notifications") { request, _ in
                let query = try RequestDecoding.query(NotificationList.self, from: request)
                let (items, total) = try await store.list(query)
                return JSONResponse.make(PageOf(items: items, page: query.page, total: total))
            }
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

/// Sends pending deliveries through their channels; a failure is retried with backoff (1 s
/// doubling to a minute), ten times, then marked failed. Replicas of the service share the work:
/// each delivery is claimed before it is sent, so two workers never send the same one.
struct DeliveryWorker: Service {
    /// How long a delivery picked up by one worker is hidden from the others.
    static let claimSeconds = 30.0

    let store: any NotificationsStore
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
        guard let due = try? await store.claimDue(now: now, claimUntil: now + Self.claimSeconds, limit: 200), !due.isEmpty else { return 0 }
        var outcomes: [DeliveryOutcome] = []
        var unsent: [DeliveryKey] = []
        for item in due {
            // Once stopping has begun, the rest of the batch is handed back at once instead of waiting out the claim.
            guard !Task.isShuttingDownGracefully else {
                unsent.append(item.key)
                continue
            }
            guard let channel = channels.first(where: { $0.name == item.channel }) else { continue }
            do {
                // In the trace of the event that made the notification: its log line, and the
                // webhook's `traceparent`, belong to the booking's trace.
                try await EventTracing.resume(
                    "deliver \(item.channel)", under: item.trace,
                    attributes: ["portier.notification.id": .int64(item.notification.id), "portier.delivery.attempt": .int64(Int64(item.attempts + 1))]
                ) {
                    try await channel.deliver(item.notification)
                }
                outcomes.append(DeliveryOutcome(key: item.key, attempts: item.attempts, error: nil))
            } catch {
                outcomes.append(DeliveryOutcome(key: item.key, attempts: item.attempts, error: "\(error)"))
            }
        }
        do {
            try await store.finish(outcomes, released: unsent, at: Date().timeIntervalSince1970)
        } catch {
            logger.warning("cannot record notification deliveries; they are sent again once their claim lapses", metadata: ["error": .string("\(error)")])
        }
        for failure in outcomes where failure.error != nil && failure.attempts == 0 {
            logger.warning(
                "notification delivery failed; will retry",
                metadata: [
                    "channel": .string(failure.key.channel), "notification_id": .stringConvertible(failure.key.notificationID), "error": .string(failure.error ?? ""),
                ]
            )
        }
        return outcomes.count
    }
}
