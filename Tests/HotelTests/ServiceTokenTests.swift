import Foundation
import PortierTestSupport
import Testing
import Tokens

/// Internal operations stay internal: only books, with its own client-credentials token (scope
/// `payments:write`), can create or void a payment. An ordinary `write` token cannot, neither through
/// the gateway nor on payments' own port.
@Suite(.serialized) struct ServiceTokenTests {
    @Test func aWriteTokenCannotCreateOrVoidAPayment() async throws {
        try await HotelStack.run { hotel in
            let room = try await hotel.registerRoom(hostID: 3, price: 100)
            let booked = try await hotel.book(room: room, guest: 20, nightsFromNow: 40)
            #expect(booked.status == 201, "\(booked.text)")
            let book = try #require(booked.json["id"] as? Int)
            let payment: [String: Any] = [
                "bookId": 999, "guestId": 20, "hostId": 3, "roomId": room, "roomName": "Free night",
                "startDate": HotelStack.date(daysFromNow: 50), "endDate": HotelStack.date(daysFromNow: 51), "amount": 1,
            ]

            // Through the gateway: payments is read-only from outside.
            let voidThroughGateway = try await hotel.post("/payments/void", ["bookId": book])
            #expect(
                voidThroughGateway.status == 405 && voidThroughGateway.json["error"] as? String == "method_not_allowed", "\(voidThroughGateway.text)")
            let payThroughGateway = try await hotel.post("/payments", payment)
            #expect(payThroughGateway.status == 405, "\(payThroughGateway.text)")

            // On payments' own port: no token is 401 with a Bearer challenge, the demo client's write token is 403.
            let payments = "http://127.0.0.1:\(hotel.ports["payments"] ?? 0)"
            let anonymous = try await HTTP.json(.POST, payments + "/payments/void", ["bookId": book])
            #expect(anonymous.status == 401 && anonymous.json["error"] as? String == "unauthorized", "\(anonymous.text)")
            #expect(anonymous.header("WWW-Authenticate")?.hasPrefix("Bearer ") == true)
            let demoToken = try await Self.token(hotel, client: "hotel-client", secret: hotel.demoSecret)
            for (path, body) in [("/payments/void", ["bookId": book] as [String: Any]), ("/payments", payment)] {
                let refused = try await HTTP.json(.POST, payments + path, body, headers: [HTTP.bearer(demoToken)])
                #expect(refused.status == 403 && refused.json["error"] as? String == "insufficient_scope", "\(path): \(refused.text)")
                #expect(refused.header("WWW-Authenticate")?.contains("error=\"insufficient_scope\"") == true)
            }

            // Nothing changed: the payment is still approved, the booking still booked, and no payment was made up.
            let read = try await hotel.get("/payments?bookId=\(book)")
            #expect(read.status == 200)
            #expect((read.json["items"] as? [[String: Any]])?.first?["status"] as? String == "Approved", "\(read.text)")
            #expect(try await hotel.get("/payments?bookId=999").json["total"] as? Int == 0)
            #expect(try await hotel.get("/books/\(book)").json["status"] as? String == "Booked")

            // Books' own cancellation still reaches payments (by event) as before.
            #expect(try await hotel.delete("/books/\(book)").status == 200)
            #expect(
                try await eventually {
                    let items = try await hotel.get("/payments?bookId=\(book)").json["items"] as? [[String: Any]]
                    return items?.first?["status"] as? String == "Canceled"
                })
        }
    }

    @Test func paymentsRefusesExpiredForgedAndForeignServiceTokens() async throws {
        try await HotelStack.run { hotel in
            let payments = "http://127.0.0.1:\(hotel.ports["payments"] ?? 0)/payments/void"
            let real = try #require(try KeyStore(directory: hotel.keysDirectory).load().signing)
            let signer = try TokenSigner(key: real.key)
            let now = Int64(Date().timeIntervalSince1970)
            func claims(iss: String = HotelStack.issuer, aud: String = "hotel-api", scope: String = "payments:write", exp: Int64 = now + 600)
                -> TokenClaims
            {
                TokenClaims(
                    iss: iss, sub: "portier-books", aud: [aud], clientID: "portier-books", scope: scope, iat: exp - 900, nbf: exp - 900, exp: exp,
                    jti: UUID().uuidString
                )
            }
            func void(_ token: String, book: Int) async throws -> TestHTTPResponse {
                try await HTTP.json(.POST, payments, ["bookId": book], headers: [HTTP.bearer(token)])
            }

            // A token signed with the real key and the right claims is accepted: the refusals below are about what they name.
            #expect(try await void(try signer.sign(claims()), book: 9001).status == 200)

            let forger = try TokenSigner(key: try RSAKey.generate())
            let genuine = try signer.sign(claims(scope: "read"))
            let parts = genuine.split(separator: ".")
            let upgraded = Base64URL.encode(Array(try JSONEncoder().encode(claims())))
            let cases: [(String, String, String)] = [
                ("expired", try signer.sign(claims(exp: now - 3600)), "expired"),
                ("signed with a key not in the JWKS", try forger.sign(claims()), "no signing key"),
                ("payload swapped under a real signature", "\(parts[0]).\(upgraded).\(parts[2])", "signature"),
                ("from another issuer", try signer.sign(claims(iss: "http://evil.test")), "issuer"),
                ("for another audience", try signer.sign(claims(aud: "someone-else")), "audience"),
                ("not a JWT", "not-a-token", "malformed"),
            ]
            for (book, (name, token, reason)) in cases.enumerated() {
                let response = try await void(token, book: 9100 + book)
                #expect(response.status == 401 && response.json["error"] as? String == "invalid_token", "\(name): \(response.text)")
                #expect(response.header("WWW-Authenticate")?.contains("error=\"invalid_token\"") == true, "\(name)")
                #expect((response.json["error_description"] as? String)?.contains(reason) == true, "\(name): \(response.text)")
                #expect(try await hotel.get("/payments?bookId=\(9100 + book)").json["total"] as? Int == 0, "\(name) voided something")
            }
        }
    }

    @Test func booksGetsItsOwnTokenFromAPrivateSecretFile() async throws {
        try await HotelStack.run { hotel in
            let file = hotel.dataDirectory + "/books-client.secret"
            let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
            #expect(mode & 0o777 == 0o600)
            let secret = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let response = try await HTTP.form(
                hotel.authURL + "/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic("portier-books", secret)]
            )
            #expect(response.status == 200 && response.json["scope"] as? String == "payments:write", "\(response.text)")
        }
    }

    /// `portier up` on ports and a data directory of its own tells books and payments where the token server
    /// is and which issuer it signs as: booking and cancelling work, and payments stays read-only from outside.
    @Test func bookingAndCancellingWorkUnderPortierUp() async throws {
        try await TemporaryDirectory.with("up-books") { dir in
            let up = try await UpSession.start(in: dir)
            defer { if up.process.process.isRunning { up.process.signal(SIGKILL) } }
            let secret = try #require(up.printedSecret, "\(up.process.lines)")
            let issued = try await HTTP.form(
                up.gateway + "/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", secret)])
            let auth = HTTP.bearer(try #require(issued.json["access_token"] as? String, "\(issued.text)"))

            let room = try await HTTP.json(.POST, up.gateway + "/rooms", ["name": "Garden", "hostId": 4, "price": 90], headers: [auth])
            let roomID = try #require(room.json["id"] as? Int, "\(room.text)")
            let request: [String: Any] = [
                "roomId": roomID, "guestId": 30, "startDate": HotelStack.date(daysFromNow: 20), "endDate": HotelStack.date(daysFromNow: 22),
            ]
            var booked = try await HTTP.json(.POST, up.gateway + "/books", request, headers: [auth])
            // books learns about the room from an event: wait until it has.
            let deadline = ContinuousClock.now + .seconds(30)
            while booked.status == 404 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                booked = try await HTTP.json(.POST, up.gateway + "/books", request, headers: [auth])
            }
            #expect(booked.status == 201, "\(booked.text)")
            let book = try #require(booked.json["id"] as? Int)

            let void = try await HTTP.json(.POST, up.gateway + "/payments/void", ["bookId": book], headers: [auth])
            #expect(void.status == 405, "\(void.text)")
            #expect(try await HTTP.request(.DELETE, up.gateway + "/books/\(book)", headers: [auth]).status == 200)
            #expect(
                try await eventually {
                    let page = try await HTTP.request(.GET, up.gateway + "/payments?bookId=\(book)", headers: [auth])
                    return (page.json["items"] as? [[String: Any]])?.first?["status"] as? String == "Canceled"
                })

            up.process.signal(SIGTERM)
            #expect(try await up.process.waitForExit() == 0)
        }
    }

    static func token(_ hotel: HotelStack, client: String, secret: String) async throws -> String {
        let response = try await HTTP.form(
            hotel.authURL + "/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic(client, secret)])
        return try #require(response.json["access_token"] as? String, "\(response.text)")
    }
}
