import Foundation
import HotelAPI
import Testing

/// The request bodies: strict JSON, typed fields, checks that name the field.
@Suite struct RequestBodyTests {
    func message<Body: HotelRequestBody>(_ type: Body.Type, _ json: String) -> String? {
        message(type, Data(json.utf8))
    }

    func message<Body: HotelRequestBody>(_ type: Body.Type, _ data: Data) -> String? {
        do {
            _ = try Body.decodeAndValidate(data)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func acceptsAGoodBookingInBothDateForms() throws {
        let iso = try NewBook.decodeAndValidate(Data(#"{"roomId":1,"guestId":2,"startDate":"2027-01-05","endDate":"2027-01-07","price":9}"#.utf8))
        #expect(iso.nights == 2)
        let seed = try NewBook.decodeAndValidate(Data(#"{"roomId":1,"guestId":2,"startDate":20270105,"endDate":"20270107"}"#.utf8))
        #expect(seed == iso)
    }

    @Test func namesTheDateFieldForEveryRejectedForm() {
        let values = [
            #""٢٠٢٧-٠١-٠٥""#, #""2026-02-30""#, "1e400", "-20270105", "20270105.0", "2.0270105e7", "99999999999999999999999", #""someday""#, "true",
            #""2027-01-05\u0000""#,
        ]
        for value in values {
            let body = #"{"roomId":1,"guestId":2,"startDate":"# + value + #","endDate":"2027-01-07"}"#
            let text = message(NewBook.self, body) ?? "accepted"
            #expect(text.contains("startDate"), "\(value): \(text)")
        }
    }

    @Test func refusesFloatsHugeNumbersAndWrongTypesForIntegers() {
        for value in [
            "1.5", "0.5", "1e-1", "12.30", "1e400", "1e-400", "-1e400", "9223372036854775808", "-9223372036854775809",
            "1" + String(repeating: "0", count: 5000), #""7""#,
            "null", "[1]", "{}",
        ] {
            let text = message(NewRoom.self, #"{"name":"A","hostId":"# + value + #","price":10}"#) ?? "accepted"
            #expect(text.contains("hostId"), "\(value.prefix(30)): \(text)")
        }
        #expect(message(NewRoom.self, #"{"name":"A","hostId":-1,"price":10}"#) == "hostId must be a positive integer")
        // JSON Schema (and so the OpenAPI document) counts 7.0 and 7e0 as the integer 7: so do the services.
        for value in ["7.0", "7e0", "70e-1", "0.7e1", "7.000E+0"] {
            let room = try? NewRoom.decodeAndValidate(Data((#"{"name":"A","hostId":1,"price":10,"capacity":"# + value + "}").utf8))
            #expect(room?.capacity == 7, "\(value)")
        }
        let largest = try? NewRoom.decodeAndValidate(Data(#"{"name":"A","hostId":9.223372036854775807e18,"price":1e1}"#.utf8))
        #expect(largest?.hostId == Int64.max && largest?.price == 10)
        #expect(message(NewRoom.self, #"{"name":"A","hostId":-0.0,"price":10}"#) == "hostId must be a positive integer")
        #expect(message(NewRoom.self, #"{"name":"A","hostId":9223372036854775807,"price":10}"#) == nil)
        #expect(message(NewRoom.self, #"{"name":"A","hostId":1,"price":10000001}"#) == "price must be between 1 and 10000000")
        #expect(message(NewRoom.self, #"{"name":"A","hostId":1,"price":10,"capacity":21}"#) == "capacity must be between 1 and 20")
        #expect(message(NewRoom.self, #"{"name":"A","hostId":1}"#) == "field price is required")
    }

    @Test func refusesMalformedBodies() {
        let bodies: [(String, [UInt8])] = [
            ("deep arrays", Array(repeating: UInt8(ascii: "["), count: 100_000)),
            ("deep objects", Array(String(repeating: #"{"a":"#, count: 40).utf8) + Array("1".utf8) + Array(repeating: UInt8(ascii: "}"), count: 40)),
            ("invalid UTF-8", Array(#"{"name":""#.utf8) + [0xFF, 0xFE] + Array(#"","hostId":1,"price":1}"#.utf8)),
            ("UTF-8 encoded surrogate", Array(#"{"name":""#.utf8) + [0xED, 0xA0, 0x80] + Array(#"","hostId":1,"price":1}"#.utf8)),
            ("lone high surrogate", Array(#"{"name":"\ud800","hostId":1,"price":1}"#.utf8)),
            ("lone low surrogate", Array(#"{"name":"\udc00x","hostId":1,"price":1}"#.utf8)),
            ("high then non-low", Array(#"{"name":"\ud800\u0041","hostId":1,"price":1}"#.utf8)),
            ("truncated", Array(#"{"name": "#.utf8)),
            ("trailing data", Array(#"{"name":"A","hostId":1,"price":1} x"#.utf8)),
            ("not an object", Array("[1,2]".utf8)),
            ("empty", []),
            ("leading zero", Array(#"{"name":"A","hostId":01,"price":1}"#.utf8)),
            ("bare minus", Array(#"{"name":"A","hostId":-,"price":1}"#.utf8)),
            ("control character", Array("{\"name\":\"A\u{1}\",\"hostId\":1,\"price\":1}".utf8)),
            ("duplicate key", Array(#"{"name":"A","hostId":1,"hostId":2,"price":1}"#.utf8)),
            ("too large", Array(#"{"name":""#.utf8) + Array(repeating: UInt8(ascii: "a"), count: 70_000) + Array(#"","hostId":1,"price":1}"#.utf8)),
        ]
        for (name, bytes) in bodies {
            #expect(message(NewRoom.self, Data(bytes)) != nil, "\(name)")
        }
        #expect(message(NewRoom.self, Data(Array(repeating: UInt8(ascii: "["), count: 100_000)))?.contains("larger than 65536 bytes") == true)
        #expect(message(NewRoom.self, Data(Array(repeating: UInt8(ascii: "["), count: 60_000)))?.contains("nested deeper than 32 levels") == true)
        #expect(message(NewRoom.self, #"{"name":"\ud83d\ude00 suite","hostId":1,"price":1}"#) == nil, "a surrogate pair is a fine emoji")
    }

    @Test func checksTextFields() throws {
        #expect(message(NewRoom.self, #"{"name":"   ","hostId":1,"price":1}"#) == "name must not be empty")
        #expect(
            message(NewRoom.self, #"{"name":""# + String(repeating: "é", count: 101) + #"","hostId":1,"price":1}"#)
                == "name must be at most 100 characters")
        #expect(message(NewRoom.self, #"{"name":"a\u0000b","hostId":1,"price":1}"#) == "name must not contain control characters")
        let room = try NewRoom.decodeAndValidate(Data(#"{"name":"  Café \u00e9  ","hostId":1,"price":1}"#.utf8))
        #expect(room.name == "Café é")
        #expect(room.capacity == 2)
    }

    @Test func checksPaymentsAndVoids() throws {
        let good = #"{"bookId":7,"guestId":1,"hostId":2,"roomId":3,"roomName":"Sea","startDate":"2027-01-05","endDate":"2027-01-07","amount":240}"#
        let payment = try PaymentRequest.decodeAndValidate(Data(good.utf8))
        #expect(payment.startDate == "2027-01-05" && payment.amount == 240)
        let encoded = try JSONEncoder().encode(payment)
        #expect(try PaymentRequest.decodeAndValidate(encoded) == payment, "what books sends, payments accepts")
        #expect(
            message(PaymentRequest.self, good.replacingOccurrences(of: "\"2027-01-07\"", with: "\"2027-01-01\""))?.contains(
                "startDate before endDate") == true)
        #expect(message(PaymentRequest.self, good.replacingOccurrences(of: "240", with: "0")) == "amount must be positive")
        #expect(message(PaymentRequest.self, good.replacingOccurrences(of: "\"Sea\"", with: "\"\"")) == "roomName must not be empty")
        #expect(message(VoidRequest.self, #"{"bookId":0}"#) == "bookId must be a positive integer")
        #expect(message(VoidRequest.self, #"{"bookId":1.5}"#)?.contains("bookId") == true)
        #expect(try VoidRequest.decodeAndValidate(Data(#"{"bookId":5}"#.utf8)).bookId == 5)
    }

    @Test func checksBookingRanges() {
        let body = { (start: String, end: String) in #"{"roomId":1,"guestId":2,"startDate":"\#(start)","endDate":"\#(end)"}"# }
        #expect(message(NewBook.self, body("2027-01-05", "2027-01-05")) == "endDate must be after startDate")
        #expect(message(NewBook.self, body("2027-01-05", "2028-01-06")) == "a booking can last at most 365 nights")
        #expect(message(NewBook.self, body("1900-01-01", "9999-12-31")) == "a booking can last at most 365 nights")
        #expect(
            message(NewBook.self, #"{"roomId":0,"guestId":2,"startDate":"2027-01-05","endDate":"2027-01-07"}"#) == "roomId must be a positive integer"
        )
    }

    @Test func exerciseAllNeverTraps() {
        let inputs = [
            #"{"roomId":1,"guestId":2,"startDate":"٢٠٢٧-٠١-٠٥","endDate":1e400}"#, "page=-1&size=1e9&from=٢٠٢٧-٠١-٠٥&to=%ff", "[[[[[[[[[[",
            "\u{0}\u{FFFF}",
            "recipient=guest:99999999999999999999&bookId=18446744073709551616",
            "from=2026-02-30&to=2026-03-01&name=" + String(repeating: "x", count: 5000),
        ]
        for input in inputs {
            HotelAPI.exerciseAll(Data(input.utf8))
        }
        HotelAPI.exerciseAll(Data([0xFF, 0x00, 0xC0, 0x80]))
    }
}
