import Foundation
import PortierTestSupport
import Testing

/// Every endpoint answers bad input with a deliberate status and a JSON message.
@Suite(.serialized) struct BadInputTests {
    func expectError(_ response: TestHTTPResponse, _ status: Int, _ contains: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(response.status == status, "\(response.text)", sourceLocation: sourceLocation)
        #expect(response.header("Content-Type") == "application/json", sourceLocation: sourceLocation)
        let description = response.json["error_description"] as? String ?? ""
        #expect(description.contains(contains), "\(description)", sourceLocation: sourceLocation)
    }

    @Test func everyEndpointRefusesBadInputClearly() async throws {
        try await HotelStack.run { hotel in
            // rooms
            expectError(try await hotel.post("/rooms", ["name": "", "hostId": 1, "price": 10]), 400, "name must not be empty")
            expectError(try await hotel.post("/rooms", ["name": "A", "hostId": 0, "price": 10]), 400, "hostId must be a positive integer")
            expectError(try await hotel.post("/rooms", ["name": "A", "hostId": 1, "price": -5]), 400, "price must be between")
            expectError(try await hotel.post("/rooms", ["name": "A", "hostId": 1]), 400, "field price is required")
            expectError(try await hotel.post("/rooms", ["name": "A", "hostId": "one", "price": 1]), 400, "hostId has the wrong type")
            let malformed = try await HTTP.request(
                .POST, hotel.gateway + "/rooms", headers: [HTTP.bearer(try await token(hotel)), ("Content-Type", "application/json")],
                body: Array("{\"name\": ".utf8)
            )
            expectError(malformed, 400, "malformed JSON")
            let plain = try await HTTP.request(
                .POST, hotel.gateway + "/rooms", headers: [HTTP.bearer(try await token(hotel)), ("Content-Type", "text/plain")], body: Array("x".utf8)
            )
            expectError(plain, 415, "application/json")
            expectError(try await hotel.get("/rooms/999"), 404, "room 999 does not exist")
            expectError(try await hotel.get("/rooms/abc"), 400, "id must be a positive integer")
            expectError(try await hotel.get("/rooms?maxPrice=cheap"), 400, "maxPrice must be an integer")
            expectError(try await hotel.get("/rooms?from=2026-01-01"), 400, "from and to must be given together")
            expectError(try await hotel.get("/rooms?from=2026-13-01&to=2026-12-01"), 400, "from must be a date")
            expectError(try await hotel.get("/rooms?size=1000"), 400, "size must be an integer between 1 and 100")
            expectError(try await hotel.delete("/rooms/999"), 404, "room 999 does not exist")

            // books
            let room = try await hotel.registerRoom()
            _ = try await hotel.book(room: room, guest: 1, nightsFromNow: 100)
            let day = HotelStack.date(daysFromNow:)
            expectError(try await hotel.post("/books", ["roomId": room, "guestId": 1, "startDate": day(12), "endDate": day(10)]), 400, "endDate must be after startDate")
            expectError(try await hotel.post("/books", ["roomId": room, "guestId": 1, "startDate": "2020-01-01", "endDate": "2020-01-03"]), 400, "in the past")
            expectError(try await hotel.post("/books", ["roomId": room, "guestId": 1, "startDate": "someday", "endDate": day(3)]), 400, "startDate")
            expectError(try await hotel.post("/books", ["roomId": room, "guestId": 1, "startDate": day(1), "endDate": day(400)]), 400, "at most 365 nights")
            expectError(try await hotel.post("/books", ["roomId": 999, "guestId": 1, "startDate": day(1), "endDate": day(3)]), 404, "room 999 does not exist")
            expectError(try await hotel.post("/books", ["roomId": room, "guestId": -1, "startDate": day(1), "endDate": day(3)]), 400, "guestId must be")
            expectError(try await hotel.post("/books", ["roomId": room, "guestId": 2, "startDate": day(99), "endDate": day(101)]), 409, "already booked")
            expectError(try await hotel.get("/books/999"), 404, "booking 999 does not exist")
            expectError(try await hotel.delete("/books/999"), 404, "booking 999 does not exist")
            expectError(try await hotel.get("/books"), 400, "give guestId or hostId")

            // payments: creating one is internal (books, with its service token), so the gateway refuses the method,
            // and payments checks the input of the one caller that may send it.
            expectError(try await hotel.post("/payments", ["bookId": 1]), 405, "allowed methods: GET, HEAD")
            let payments = "http://127.0.0.1:\(hotel.ports["payments"] ?? 0)/payments"
            let books = [HTTP.bearer(try await serviceToken(hotel))]
            expectError(try await HTTP.json(.POST, payments, ["bookId": 1], headers: books), 400, "is required")
            expectError(
                try await HTTP.json(
                    .POST, payments,
                    ["bookId": 77, "guestId": 1, "hostId": 1, "roomId": 1, "roomName": "x", "startDate": day(3), "endDate": day(1), "amount": 10],
                    headers: books
                ), 400, "startDate before endDate"
            )
            expectError(try await hotel.get("/payments/999"), 404, "payment 999 does not exist")
            expectError(try await hotel.get("/payments"), 400, "give bookId or guestId")

            // notifications and mypages
            expectError(try await hotel.get("/notifications"), 400, "give recipient")
            expectError(try await hotel.get("/notifications?recipient=admin:1"), 400, "recipient must look like guest:10")
            expectError(try await hotel.get("/mypages"), 400, "give guestId or hostId")
            expectError(try await hotel.get("/mypages/999"), 404, "no mypage entry for booking 999")
            expectError(try await hotel.get("/mypages?guestId=x"), 400, "guestId must be an integer")
        }
    }

    /// books' own token (scope payments:write), from the secret file the token server wrote.
    func serviceToken(_ hotel: HotelStack) async throws -> String {
        let secret = try String(contentsOfFile: hotel.dataDirectory + "/books-client.secret", encoding: .utf8)
        let response = try await HTTP.form(
            hotel.authURL + "/oauth/token", [("grant_type", "client_credentials")],
            headers: [HTTP.basic("portier-books", secret.trimmingCharacters(in: .whitespacesAndNewlines))]
        )
        return try #require(response.json["access_token"] as? String, "\(response.text)")
    }

    func token(_ hotel: HotelStack) async throws -> String {
        let response = try await HTTP.form(hotel.gateway + "/oauth/token", [("grant_type", "client_credentials")], headers: [HTTP.basic("hotel-client", hotel.demoSecret)])
        return response.json["access_token"] as? String ?? ""
    }
}
