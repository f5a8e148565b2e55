import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Writes each notification as a log line.
struct LogChannel: NotificationChannel {
    let name = "log"
    let logger: Logger

    func deliver(_ notification: Notification) async throws {
        logger.info(
            "notification sent",
            metadata: [
                "recipient": .string(notification.recipient), "book_id": .stringConvertible(notification.bookId ?? 0),
                "kind": .string(notification.kind), "text": .string(notification.message),
            ]
        )
    }
}

/// POSTs each notification as JSON; any 2xx counts as delivered, anything else is retried.
struct WebhookChannel: NotificationChannel {
    let name = "webhook"
    let url: String
    let client: HTTPClient

    func deliver(_ notification: Notification) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        request.body = .bytes(ByteBuffer(bytes: try encoder.encode(notification)))
        let response = try await client.execute(request, timeout: .seconds(3))
        _ = try await response.body.collect(upTo: 1 << 16)
        guard (200..<300).contains(response.status.code) else { throw WebhookError(status: Int(response.status.code)) }
    }
}

struct WebhookError: Error, CustomStringConvertible {
    let status: Int
    var description: String { "webhook answered \(status)" }
}
