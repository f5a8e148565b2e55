import EventBusModel
import Foundation
import FuzzSupport
import HotelEvents

/// Event envelopes as a consumer reads them from the log, and every hotel event payload. The
/// first byte picks what the rest is: even, an envelope; odd, the payload of one event type.
/// Whatever decodes must encode and decode to the same value; a payload under the wrong type
/// name is an `UnprocessableEvent` (dead-lettered), never a crash.
enum EventsFuzz {
    static func run(_ bytes: [UInt8]) {
        guard let mode = bytes.first else { return }
        let body = Data(bytes.dropFirst())
        if mode % 2 == 0 {
            checkEnvelope(body)
        } else {
            let types = ["RoomRegistered", "RoomDeleted", "Booked", "BookCanceled", "PaymentApproved", "PaymentCanceled"]
            let envelope = EventEnvelope(
                id: "fuzz", type: types[Int(mode / 2) % types.count], occurredAt: 0, bookID: nil, source: "fuzz", payload: body)
            checkPayloads(envelope)
        }
    }

    static func checkEnvelope(_ data: Data) {
        guard let envelope = try? JSONDecoder().decode(EventEnvelope.self, from: data) else { return }
        let encoded: Data
        do {
            encoded = try JSONEncoder().encode(envelope)
        } catch {
            return Fuzz.check(false, "a decoded envelope does not encode: \(error)")
        }
        let again = try? JSONDecoder().decode(EventEnvelope.self, from: encoded)
        Fuzz.check(again == envelope, "envelope \(envelope.id) does not survive a round trip")
        checkPayloads(envelope)
    }

    static func checkPayloads(_ envelope: EventEnvelope) {
        check(RoomRegistered.self, envelope)
        check(RoomDeleted.self, envelope)
        check(Booked.self, envelope)
        check(BookCanceled.self, envelope)
        check(PaymentApproved.self, envelope)
        check(PaymentCanceled.self, envelope)
    }

    static func check<Event: HotelEvent & Equatable>(_: Event.Type, _ envelope: EventEnvelope) {
        let event: Event
        do {
            event = try envelope.decode(Event.self)
        } catch {
            Fuzz.check(error is UnprocessableEvent, "\(Event.type) failed with \(type(of: error)), not UnprocessableEvent")
            Fuzz.check(envelope.type == Event.type || "\(error)".contains("expected \(Event.type)"), "a type mismatch must be named")
            return
        }
        Fuzz.check(envelope.type == Event.type, "\(envelope.type) decoded as \(Event.type)")
        do {
            let republished = try EventEnvelope(event, source: "fuzz")
            Fuzz.check(republished.type == Event.type, "\(Event.type) republished as \(republished.type)")
            Fuzz.check(republished.bookID == event.bookID, "\(Event.type) lost its book id")
            Fuzz.check(try republished.decode(Event.self) == event, "\(Event.type) does not survive a round trip")
        } catch {
            Fuzz.check(false, "a decoded \(Event.type) does not republish: \(error)")
        }
    }
}

@main enum Main {
    static func main() { Fuzz.main(EventsFuzz.run, entry: fuzzEvents) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzEvents(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    EventsFuzz.run(Fuzz.bytes(data, size))
    return 0
}
