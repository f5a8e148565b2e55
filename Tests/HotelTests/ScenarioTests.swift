import EventBus
import Foundation
import PortierTestSupport
import Testing

/// Seed 000's requirements F1-F11, end to end through the gateway with a real token, over real
/// processes, checking the final state of books, payments, notifications and mypages.
@Suite(.serialized) struct ScenarioTests {
    @Test(arguments: HotelStack.LogEngine.allCases) func theWholeBookingLifecycle(eventLog: HotelStack.LogEngine) async throws {
        try await HotelStack.run(eventLog: eventLog) { hotel in
            // F1: a host registers a room.
            let registered = try await hotel.post("/rooms", ["name": "Ocean view", "hostId": 7, "price": 150, "capacity": 3])
            #expect(registered.status == 201)
            let room = try #require(registered.json["id"] as? Int)
            #expect(registered.header("Location") == "/rooms/\(room)")

            // F3: a guest searches.
            let found = try await hotel.get("/rooms?name=ocean&maxPrice=200&hostId=7")
            #expect((found.json["items"] as? [[String: Any]])?.map { $0["id"] as? Int } == [room])
            #expect(try await hotel.get("/rooms?minPrice=151").json["total"] as? Int == 0)
            #expect(try await hotel.get("/rooms/\(room)").json["name"] as? String == "Ocean view")

            // F4/F5: the guest books; the payment happens before the booking is stored.
            let booked = try await hotel.book(room: room, guest: 10, nightsFromNow: 30, nights: 3)
            #expect(booked.status == 201, "\(booked.text)")
            let book = try #require(booked.json["id"] as? Int)
            #expect(booked.json["status"] as? String == "Booked")
            #expect(booked.json["price"] as? Int == 450 && booked.json["nights"] as? Int == 3)
            #expect(booked.json["hostId"] as? Int == 7)
            let payment = try await hotel.get("/payments?bookId=\(book)")
            let paid = try #require((payment.json["items"] as? [[String: Any]])?.first)
            #expect(paid["status"] as? String == "Approved" && paid["amount"] as? Int == 450)
            #expect(paid["id"] as? Int == booked.json["paymentId"] as? Int)

            // The same nights cannot be booked twice.
            let clash = try await hotel.book(room: room, guest: 11, nightsFromNow: 31, nights: 1)
            #expect(clash.status == 409 && clash.json["error"] as? String == "conflict")

            // F6 guest, F7 host.
            #expect(try await eventually { try await hotel.notifications("guest:10").count == 1 })
            let guestMessage = try await hotel.notifications("guest:10")[0]
            #expect(guestMessage["kind"] as? String == "payment_approved" && guestMessage["bookId"] as? Int == book)
            #expect((guestMessage["message"] as? String)?.contains("Payment of 450 approved for booking #\(book)") == true)
            #expect(try await eventually { try await hotel.notifications("host:7").count == 1 })
            #expect(try await hotel.notifications("host:7")[0]["kind"] as? String == "booked")

            // F8: the guest sees the booking and its status; mypages shows both statuses.
            #expect(try await hotel.get("/books/\(book)").json["status"] as? String == "Booked")
            #expect(try await hotel.get("/books?guestId=10").json["total"] as? Int == 1)
            #expect(try await eventually {
                let page = try await hotel.get("/mypages/\(book)").json
                return page["bookingStatus"] as? String == "Booked" && page["paymentStatus"] as? String == "Approved"
            })
            let mine = try await hotel.get("/mypages?guestId=10").json
            #expect((mine["items"] as? [[String: Any]])?.first?["roomName"] as? String == "Ocean view")
            #expect(try await hotel.get("/mypages?hostId=7").json["total"] as? Int == 1)

            // F2: a room with an upcoming booking cannot be deleted.
            #expect(try await eventually { try await hotel.delete("/rooms/\(room)").status == 409 })
            // F3: it no longer shows as free on those dates, but does on others.
            let busy = "from=\(HotelStack.date(daysFromNow: 30))&to=\(HotelStack.date(daysFromNow: 32))"
            #expect(try await hotel.get("/rooms?\(busy)").json["total"] as? Int == 0)
            let free = "from=\(HotelStack.date(daysFromNow: 40))&to=\(HotelStack.date(daysFromNow: 42))"
            #expect(try await hotel.get("/rooms?\(free)").json["total"] as? Int == 1)

            // F9: the guest cancels; twice is harmless.
            let canceled = try await hotel.delete("/books/\(book)")
            #expect(canceled.status == 200 && canceled.json["status"] as? String == "Canceled")
            let again = try await hotel.post("/books/\(book)/cancel", [:])
            #expect(again.status == 200 && again.json["status"] as? String == "Canceled")

            // F10: payments cancels the payment asynchronously; F11: both are told.
            #expect(try await eventually {
                try await hotel.get("/payments?bookId=\(book)").json["items"].flatMap { ($0 as? [[String: Any]])?.first?["status"] as? String } == "Canceled"
            })
            #expect(try await eventually { try await hotel.notifications("guest:10").count == 2 })
            #expect(try await eventually { try await hotel.notifications("host:7").count == 2 })
            #expect(try await hotel.notifications("guest:10")[0]["kind"] as? String == "payment_canceled", "newest first")
            #expect(try await hotel.notifications("host:7")[0]["kind"] as? String == "book_canceled")
            #expect(try await eventually {
                let page = try await hotel.get("/mypages/\(book)").json
                return page["bookingStatus"] as? String == "Canceled" && page["paymentStatus"] as? String == "Canceled"
            })

            // Nothing was notified twice, even though the second cancel reached books: once the group
            // has committed past every event, no notification is still to come.
            #expect(try await eventually { try await hotel.hasConsumedEverything(group: "notifications") })
            #expect(try await hotel.notifications("guest:10").count == 2)
            #expect(try await hotel.notifications("host:7").count == 2)

            // The room can go now; it can no longer be found, and once books has heard of it, booked.
            #expect(try await eventually { try await hotel.delete("/rooms/\(room)").status == 204 })
            #expect(try await hotel.get("/rooms/\(room)").status == 404)
            #expect(try await eventually {
                let refused = try await hotel.book(room: room, guest: 12, nightsFromNow: 50)
                return refused.status == 409 && (refused.json["error_description"] as? String)?.contains("was deleted") == true
            })

            // The events went where the services were told to keep them, and every group read them.
            for file in ["events", "rooms", "books", "payments", "notifications", "mypages"] {
                #expect(FileManager.default.fileExists(atPath: hotel.dataDirectory + "/\(file).sqlite") == (eventLog == .sqlite), "\(file).sqlite")
            }
            let status = try await hotel.eventLogStatus()
            #expect(status.lastPosition >= 6, "Booked, PaymentApproved, BookCanceled, PaymentCanceled, ...")
            #expect(Set(status.groups.map(\.name)).isSuperset(of: ["rooms", "payments", "notifications", "mypages"]))
        }
    }
}
