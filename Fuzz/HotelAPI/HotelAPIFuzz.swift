import Foundation
import FuzzSupport
import HotelAPI

/// The hotel services' request bodies, query strings and dates. Every parser either returns or
/// throws `RequestError` (typed throws make that the only error); what passes validation must
/// satisfy the documented limits, and a date that parses prints back to the same date.
enum HotelAPIFuzz {
    static func run(_ bytes: [UInt8]) {
        let data = Data(bytes)
        HotelAPI.exerciseAll(data)
        let text = String(decoding: bytes, as: UTF8.self)
        checkDate(text)
        checkBodies(data)
        checkQueries(QueryItems(rawQuery: text))
    }

    static func checkDate(_ text: String) {
        guard let date = CalendarDate(text) else { return }
        Fuzz.check(CalendarDate.years.contains(date.year) && (1...12).contains(date.month) && (1...31).contains(date.day), "\(text) is \(date)")
        Fuzz.check(CalendarDate(date.description) == date, "\(date) does not print back to itself")
        Fuzz.check(CalendarDate(compact: date.year * 10000 + date.month * 100 + date.day) == date, "\(date) compact form differs")
        Fuzz.check(CalendarDate(dayNumber: date.dayNumber) == date, "\(date) day number \(date.dayNumber) maps elsewhere")
        if let next = CalendarDate(dayNumber: date.dayNumber + 1) {
            Fuzz.check(date < next && date.nights(until: next) == 1, "\(date) and the day after, \(next), are not one night apart")
        }
        if let encoded = try? JSONEncoder().encode([date]) {
            Fuzz.check((try? JSONDecoder().decode([CalendarDate].self, from: encoded)) == [date], "\(date) does not survive JSON")
        }
    }

    static func checkBodies(_ data: Data) {
        if let room = try? NewRoom.decodeAndValidate(data) {
            Fuzz.check(!room.name.isEmpty && room.name.count <= 100, "room name '\(room.name)' passed")
            Fuzz.check(NewRoom.prices.contains(room.price) && (1...20).contains(room.capacity) && room.hostId > 0, "room \(room) passed")
        }
        if let book = try? NewBook.decodeAndValidate(data) {
            Fuzz.check(book.start < book.end && (1...NewBook.maximumNights).contains(book.nights), "booking \(book) passed")
            Fuzz.check(book.start.nights(until: book.end) == book.nights && book.roomId > 0 && book.guestId > 0, "booking \(book) passed")
        }
        if let payment = try? PaymentRequest.decodeAndValidate(data) {
            if let encoded = try? JSONEncoder().encode(payment) {
                Fuzz.check((try? PaymentRequest.decodeAndValidate(encoded)) == payment, "payment \(payment) does not survive a round trip")
            }
        }
        if let void = try? VoidRequest.decodeAndValidate(data) {
            Fuzz.check(void.bookId > 0, "void of book \(void.bookId) passed")
        }
    }

    static func checkQueries(_ query: QueryItems) {
        if let search = try? RoomSearch(query: query) {
            checkPage(search.page)
            if let stay = search.stay { Fuzz.check(stay.from < stay.to, "stay \(stay) passed") }
        }
        if let list = try? BookList(query: query) { checkPage(list.page) }
        if let list = try? PaymentList(query: query) { checkPage(list.page) }
        if let list = try? MyPageList(query: query) { checkPage(list.page) }
    }

    static func checkPage(_ page: Page) {
        Fuzz.check((1...Int(Page.maximumNumber)).contains(page.number), "page \(page.number) passed")
        Fuzz.check((1...Int(Page.maximumSize)).contains(page.size), "page size \(page.size) passed")
        Fuzz.check(page.offset >= 0, "page offset \(page.offset) is negative")
    }
}

@main enum Main {
    static func main() { Fuzz.main(HotelAPIFuzz.run, entry: fuzzHotelAPI) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHotelAPI(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    HotelAPIFuzz.run(Fuzz.bytes(data, size))
    return 0
}
