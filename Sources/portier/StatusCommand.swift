import ArgumentParser
import AsyncHTTPClient
import Foundation
import Gateway

/// `portier status`: the gateway's status page as a table in the terminal, from /status.json on
/// its admin listener.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the gateway's routes, breakers, limits, traffic and reloads (from its admin listener).",
        discussion: "Exit status: 0 when the status was read, 1 when the admin listener refused or could not be reached."
    )

    @Option(name: .customLong("admin-url"), help: "The gateway's admin listener (env PORTIER_GATEWAY_ADMIN_URL).")
    var adminURL: String = Env.string("PORTIER_GATEWAY_ADMIN_URL", "http://127.0.0.1:9088")

    @Option(help: "An access token with the admin scope, for an admin listener beyond loopback (env PORTIER_ADMIN_TOKEN).")
    var token: String = Env.string("PORTIER_ADMIN_TOKEN", "")

    @Flag(help: "Print the JSON document instead of the table.") var json = false

    func run() async throws {
        var request = HTTPClientRequest(url: adminURL.trimmingSuffix("/") + "/status.json")
        if !token.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let data: Data
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
            let body = try await response.body.collect(upTo: 16 << 20)
            data = Data(buffer: body)
            guard response.status == .ok else {
                Console.write(Self.printable("portier status: \(adminURL) answered \(response.status.code): \(String(decoding: data, as: UTF8.self))"))
                throw ExitCode(1)
            }
        } catch let exit as ExitCode {
            throw exit
        } catch {
            Console.write("portier status: cannot reach the gateway's admin listener at \(adminURL): \(error)")
            throw ExitCode(1)
        }
        if json {
            Console.write(String(decoding: data, as: UTF8.self))
            return
        }
        let status: GatewayStatus
        do {
            status = try JSONDecoder().decode(GatewayStatus.self, from: data)
        } catch {
            Console.write("portier status: \(adminURL)/status.json is not a status document: \(error)")
            throw ExitCode(1)
        }
        Console.write(Self.render(status))
    }

    /// The status as text: a header, one row per route (an extra line per further upstream or
    /// busy key), then tokens.
    static func render(_ status: GatewayStatus) -> String {
        var lines = ["Portier gateway, up since \(status.startedAt), as of \(status.generatedAt)"]
        var reload = "Route table version \(status.routeTable.version) (\(status.routeTable.routes) routes)"
        if let last = status.routeTable.lastReload {
            reload += "; last reload: \(last.outcome) at \(last.at) (\(last.reason))"
        }
        lines.append(reload)
        if let error = status.routeTable.lastReload?.error { lines.append("  rejected: \(error)") }
        lines.append("")

        var rows = [["ROUTE", "PATH", "UPSTREAMS", "BREAKER", "RATE LIMIT", "REQ/S", "ERRORS", "P50", "P99"]]
        for route in status.routes {
            let minute = route.lastMinute
            let upstreams = route.upstreams.map { upstream in
                upstream.state == "up" ? upstream.url : "\(upstream.url) (ejected \(number(upstream.ejectedForSeconds, digits: 0)) s)"
            }
            var breaker = route.breaker?.state.replacingOccurrences(of: "_", with: "-") ?? "-"
            if let seconds = route.breaker?.secondsToTrial { breaker += ", trial in \(number(seconds, digits: 1)) s" }
            var limits = ["-"]
            if let limit = route.rateLimit {
                limits = ["\(number(limit.perSecond, digits: 1))/s burst \(limit.burst) per \(limit.key)"]
                limits += limit.busiest.map { "\($0.key): \(number($0.used, digits: 1))/\(limit.burst)" }
            }
            let lineCount = max(upstreams.count, limits.count, 1)
            for index in 0..<lineCount {
                let first = index == 0
                rows.append([
                    first ? route.id : "", first ? route.path : "", index < upstreams.count ? upstreams[index] : "", first ? breaker : "",
                    index < limits.count ? limits[index] : "", first ? number(minute.requestsPerSecond, digits: 1) : "",
                    first ? minute.errorRate.map { number($0 * 100, digits: 1) + "%" } ?? "-" : "",
                    first ? minute.p50Millis.map { number($0, digits: 1) + " ms" } ?? "-" : "",
                    first ? minute.p99Millis.map { number($0, digits: 1) + " ms" } ?? "-" : "",
                ])
            }
        }
        lines += table(rows)
        lines.append("")
        if let auth = status.auth {
            lines.append("Signing keys: " + (auth.keys.isEmpty ? "none loaded yet" : auth.keys.joined(separator: ", ")) + " (from \(auth.jwksURL))")
            if let feed = auth.revocationFeed {
                let age = feed.ageSeconds.map { "fetched \(number($0, digits: 1)) s ago" } ?? "never fetched"
                var text = "Revocation feed: \(feed.fresh ? "fresh" : "STALE"), \(age), \(feed.revokedTokens) revoked tokens, \(feed.cutOffClients) cut-off clients"
                if feed.failClosed { text += ", fail-closed" }
                if let error = feed.lastError { text += "; last error: \(error)" }
                lines.append(text)
            } else {
                lines.append("Revocation feed: not configured")
            }
        } else {
            lines.append("Tokens: no auth section; every route is public")
        }
        // Route ids, reload errors and rate-limit keys come from files and clients: no escape
        // sequence of theirs reaches the terminal.
        return lines.map(printable).joined(separator: "\n")
    }

    /// `text` with control characters (C0, DEL, C1: newlines, escapes, terminal commands) shown
    /// as `\u{...}` instead.
    static func printable(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                out += "\\u{" + String(scalar.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func number(_ value: Double?, digits: Int) -> String {
        guard let value, value.isFinite else { return "-" }
        return String(format: "%.\(digits)f", value)
    }

    /// Left-aligned columns, two spaces apart.
    static func table(_ rows: [[String]]) -> [String] {
        var widths: [Int] = []
        for row in rows {
            for (index, cell) in row.enumerated() {
                if index < widths.count { widths[index] = max(widths[index], cell.count) } else { widths.append(cell.count) }
            }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
    }
}
