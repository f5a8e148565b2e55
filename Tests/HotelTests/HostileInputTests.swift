import Foundation
import PortierTestSupport
import Testing

/// Issue 8: no input crashes a process. A table of hostile values goes to every endpoint of every
/// hotel service, through the gateway and straight to the service; each answer must be a 4xx with a
/// JSON error body, and afterwards every process of the stack still runs with the pid it started with
/// (`portier up` would hide a crash by restarting the child; here nothing restarts it).
@Suite(.serialized) struct HostileInputTests {
    /// Strings that are fine as a room name, so they are hostile only to number and date fields.
    static let fineAsText: Set<String> = ["a string for anything", "Arabic-Indic digits", "impossible date"]

    /// Text fields of the request bodies.
    static let textFields: Set<String> = ["name", "roomName"]

    /// One JSON value, as raw bytes, that no field of any request accepts (text fields: see `fineAsText`).
    static let hostileValues: [(name: String, json: [UInt8])] = [
        ("a string for anything", Array(#""7""#.utf8)),
        ("true", Array("true".utf8)),
        ("an array", Array("[1]".utf8)),
        ("an object", Array(#"{"a":1}"#.utf8)),
        ("negative", Array("-1".utf8)),
        ("zero", Array("0".utf8)),
        ("above Int64", Array("9223372036854775808".utf8)),
        ("below Int64", Array("-9223372036854775809".utf8)),
        ("huge", Array(("1" + String(repeating: "0", count: 400)).utf8)),
        ("1e400", Array("1e400".utf8)),
        ("-1e400", Array("-1e400".utf8)),
        ("float", Array("1.5".utf8)),
        // Whole, so integer fields read it as an integer (JSON Schema does too): negative, so none takes it;
        // date fields take no float at all.
        ("float that is whole", Array("-20270105.0".utf8)),
        ("lone surrogate", Array(#""\ud800""#.utf8)),
        ("invalid UTF-8", [UInt8(ascii: "\""), 0xFF, 0xFE, UInt8(ascii: "\"")]),
        ("UTF-8 encoded surrogate", [UInt8(ascii: "\""), 0xED, 0xA0, 0x80, UInt8(ascii: "\"")]),
        ("Arabic-Indic digits", Array(#""٢٠٢٧-٠١-٠٥""#.utf8)),
        ("impossible date", Array(#""2027-02-30""#.utf8)),
        ("NUL in a string", Array(#""2027-01-05\u0000""#.utf8)),
        ("very long string", Array(("\"" + String(repeating: "x", count: 60_000) + "\"").utf8)),
    ]

    /// Whole bodies that are not a request at all.
    static let hostileBodies: [(name: String, body: [UInt8])] = [
        ("empty", []),
        ("null", Array("null".utf8)),
        ("an array", Array("[]".utf8)),
        ("an empty object", Array("{}".utf8)),
        ("truncated", Array(#"{"roomId": "#.utf8)),
        ("100k [", Array(repeating: UInt8(ascii: "["), count: 100_000)),
        ("60k [", Array(repeating: UInt8(ascii: "["), count: 60_000)),
        ("60k {\"a\":", Array(String(repeating: #"{"a":"#, count: 12_000).utf8)),
        ("invalid UTF-8", [0xFF, 0xFE, 0xFD]),
        ("NUL bytes", [0, 0, 0, 0]),
        ("lone surrogate key", Array(#"{"\udfff":1}"#.utf8)),
        ("two objects", Array("{}{}".utf8)),
    ]

    /// The POST endpoints with a JSON body, with a valid body each hostile value is put into, one field at a time.
    static func bodyEndpoints(room: Int) -> [(path: String, fields: [(String, String)])] {
        [
            ("/rooms", [("name", #""Suite""#), ("hostId", "1"), ("price", "100"), ("capacity", "2")]),
            ("/books", [("roomId", String(room)), ("guestId", "1"), ("startDate", #""2027-01-05""#), ("endDate", #""2027-01-07""#)]),
            (
                "/payments",
                [
                    ("bookId", "900"), ("guestId", "1"), ("hostId", "1"), ("roomId", String(room)), ("roomName", #""Suite""#),
                    ("startDate", #""2027-01-05""#), ("endDate", #""2027-01-07""#), ("amount", "200"),
                ]
            ),
            ("/payments/void", [("bookId", "900")]),
        ]
    }

    /// Query values no numeric or date parameter accepts (already percent-encoded, as they go on the wire).
    static let hostileQueryValues = [
        "-1", "0", "1e9", "1.5", "1e400", "99999999999999999999", "+1", "%201", "", "%00", "%ff", "%D9%A3", "abc",
        "%D9%A2%D9%A0%D9%A2%D9%A7-%D9%A0%D9%A1-%D9%A0%D9%A5", "2026-02-30", "9999-99-99",
    ]

    /// The list endpoints, a base query they need, and the parameters they read (from the services' routers).
    static let queryEndpoints: [(path: String, base: String, parameters: [String])] = [
        ("/rooms", "", ["page", "size", "minPrice", "maxPrice", "hostId", "from", "to"]),
        ("/books", "guestId=1", ["page", "size", "guestId", "hostId"]),
        ("/payments", "guestId=1", ["page", "size", "bookId", "guestId"]),
        ("/notifications", "bookId=1", ["page", "size", "recipient", "bookId"]),
        ("/mypages", "guestId=1", ["page", "size", "guestId", "hostId"]),
    ]

    static let hostileIDs = ["abc", "-1", "0", "1.5", "1e3", "99999999999999999999", "%D9%A3", "%00", "%ff", String(repeating: "9", count: 5000)]

    /// The endpoints with an id in the path.
    static let idEndpoints: [(method: String, path: @Sendable (String) -> String)] = [
        ("GET", { "/rooms/\($0)" }), ("DELETE", { "/rooms/\($0)" }), ("GET", { "/books/\($0)" }), ("DELETE", { "/books/\($0)" }),
        ("POST", { "/books/\($0)/cancel" }), ("GET", { "/payments/\($0)" }), ("GET", { "/mypages/\($0)" }),
    ]

    struct Target {
        let name: String
        let base: String
        let headers: [(String, String)]
    }

    /// Records what was wrong instead of failing on the first, so one run shows every bad answer.
    final class Findings: @unchecked Sendable {
        private let lock = NSLock()
        private var problems: [String] = []
        private(set) var checked = 0

        func check(_ what: String, _ response: TestHTTPResponse) {
            let json = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any]
            lock.lock()
            defer { lock.unlock() }
            checked += 1
            if !(400..<500).contains(response.status) || !(response.header("Content-Type") ?? "").hasPrefix("application/json")
                || json?["error"] == nil
            {
                problems.append("\(what) -> \(response.status) \(response.text.prefix(200))")
            }
        }

        /// Sends one request; a dropped connection (the process died) is a finding too, not the end of the run.
        func send(_ what: String, _ request: () async throws -> TestHTTPResponse) async {
            do {
                check(what, try await request())
            } catch {
                lock.withLock { problems.append("\(what) -> \(error)") }
            }
        }

        var all: [String] {
            lock.lock()
            defer { lock.unlock() }
            return problems
        }
    }

    @Test func hostileInputGetsA4xxJSONAndKillsNothing() async throws {
        try await HotelStack.run { hotel in
            let pids = hotel.processes.mapValues(\.pid)
            let room = try await hotel.registerRoom()
            let token = try await Self.token(hotel)
            var targets = [Target(name: "gateway", base: hotel.gateway, headers: [HTTP.bearer(token)])]
            // Payments only parses a body after books' service token passed, so it gets that token where books has one.
            let paymentsHeaders = try await Self.booksToken(hotel).map { [HTTP.bearer($0)] } ?? []
            for service in HotelStack.Service.allCases {
                let base = "http://127.0.0.1:\(hotel.ports[service.rawValue] ?? 0)"
                targets.append(Target(name: service.rawValue, base: base, headers: service == .payments ? paymentsHeaders : []))
            }
            func base(for path: String) -> [Target] {
                targets.filter { $0.name == "gateway" || path.hasPrefix("/\($0.name)") }
            }
            let findings = Findings()
            let json = ("Content-Type", "application/json")

            for endpoint in Self.bodyEndpoints(room: room) {
                var bodies: [(String, [UInt8])] = Self.hostileBodies.map { ("body \($0.name)", $0.body) }
                for (index, field) in endpoint.fields.enumerated() {
                    for value in Self.hostileValues where !(Self.textFields.contains(field.0) && Self.fineAsText.contains(value.name)) {
                        var members = endpoint.fields.map { Array("\"\($0.0)\":\($0.1)".utf8) }
                        members[index] = Array("\"\(field.0)\":".utf8) + value.json
                        bodies.append(
                            ("\(field.0) = \(value.name)", Array("{".utf8) + Array(members.joined(separator: Array(",".utf8))) + Array("}".utf8)))
                    }
                }
                for target in base(for: endpoint.path) {
                    for (name, body) in bodies {
                        await findings.send("POST \(endpoint.path) via \(target.name): \(name)") {
                            try await HTTP.request(.POST, target.base + endpoint.path, headers: target.headers + [json], body: body)
                        }
                    }
                    await findings.send("POST \(endpoint.path) via \(target.name): text/plain") {
                        try await HTTP.request(
                            .POST, target.base + endpoint.path, headers: target.headers + [("Content-Type", "text/plain")], body: [1, 2])
                    }
                }
            }

            for endpoint in Self.queryEndpoints {
                var queries = endpoint.parameters.flatMap { parameter in
                    // A price filter of 0 is a fine question; every other parameter starts at 1.
                    Self.hostileQueryValues.filter { !(parameter.hasSuffix("Price") && $0 == "0") }.map { "\(parameter)=\($0)" }
                }
                if endpoint.path == "/rooms" {
                    queries += [
                        "name=" + String(repeating: "x", count: 5000), "name=%00", "name=a%0Ab", "from=2027-01-05", "from=2027-01-07&to=2027-01-05",
                    ]
                }
                if endpoint.path == "/notifications" {
                    queries += [
                        "recipient=guest:%D9%A3", "recipient=guest:-1", "recipient=admin:1", "recipient=guest:1:2",
                        "recipient=guest:99999999999999999999",
                    ]
                }
                for target in base(for: endpoint.path) {
                    for query in queries {
                        // When the hostile parameter is the base one too, the first value counts: the hostile one goes first.
                        let path = endpoint.path + "?" + [query, endpoint.base].filter { !$0.isEmpty }.joined(separator: "&")
                        await findings.send("GET \(path.prefix(120)) via \(target.name)") {
                            try await HTTP.request(.GET, target.base + path, headers: target.headers)
                        }
                    }
                }
            }

            for endpoint in Self.idEndpoints {
                for id in Self.hostileIDs {
                    let path = endpoint.path(id)
                    for target in base(for: path) {
                        let url = target.base + path
                        await findings.send("\(endpoint.method) \(path.prefix(60)) via \(target.name)") {
                            switch endpoint.method {
                            case "DELETE": try await HTTP.request(.DELETE, url, headers: target.headers)
                            case "POST": try await HTTP.request(.POST, url, headers: target.headers)
                            default: try await HTTP.request(.GET, url, headers: target.headers)
                            }
                        }
                    }
                }
            }

            #expect(
                findings.all.isEmpty,
                "\(findings.all.count) of \(findings.checked) answers were not a 4xx JSON error:\n\(findings.all.prefix(40).joined(separator: "\n"))")
            #expect(findings.checked > 1000)
            for (name, process) in hotel.processes {
                #expect(process.process.isRunning, "\(name) is gone (exit \(process.process.isRunning ? 0 : process.process.terminationStatus))")
                #expect(process.pid == pids[name], "\(name) has a new pid")
            }
            if !paymentsHeaders.isEmpty {
                // With books' token the bodies reach payments' own checks: a 400 that names the field, not a 401.
                let payments = "http://127.0.0.1:\(hotel.ports["payments"] ?? 0)"
                let response = try await HTTP.request(
                    .POST, payments + "/payments/void", headers: paymentsHeaders + [json], body: Array(#"{"bookId":1e400}"#.utf8)
                )
                #expect(response.status == 400 && response.text.contains("bookId"), "\(response.text)")
            }
            // Still serving, not just alive.
            #expect(try await hotel.get("/rooms/\(room)").status == 200)
        }
    }

    /// A token as books' own client, if this stack gives books one (its secret file in the data directory).
    static func booksToken(_ hotel: HotelStack) async throws -> String? {
        let file = hotel.dataDirectory + "/books-client.secret"
        guard let secret = try? String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) else { return nil }
        let response = try await HTTP.form(
            hotel.gateway + "/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic("portier-books", secret)]
        )
        return response.json["access_token"] as? String
    }

    static func token(_ hotel: HotelStack) async throws -> String {
        let response = try await HTTP.form(
            hotel.gateway + "/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", hotel.demoSecret)])
        guard let token = response.json["access_token"] as? String else { throw ChildProcessError("no token: \(response.text)") }
        return token
    }
}
