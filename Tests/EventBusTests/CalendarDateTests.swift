import Foundation
import Testing
@testable import HotelSupport

@Suite struct CalendarDateTests {
    @Test func parsesISOAndTheSeedsNumericForm() throws {
        #expect(CalendarDate("2026-05-05") == CalendarDate(year: 2026, month: 5, day: 5))
        #expect(CalendarDate("20260505") == CalendarDate(year: 2026, month: 5, day: 5))
        let decoded = try JSONDecoder().decode([CalendarDate].self, from: Data("[20210505, \"2021-05-08\"]".utf8))
        #expect(decoded.map(\.description) == ["2021-05-05", "2021-05-08"])
    }

    @Test func rejectsImpossibleDates() {
        for text in ["2026-02-30", "2026-13-01", "2026-1-1", "yesterday", "2025-02-29", ""] {
            #expect(CalendarDate(text) == nil, "\(text)")
        }
        #expect(CalendarDate("2024-02-29") != nil, "leap year")
    }

    @Test func countsNightsAcrossMonthsAndYears() throws {
        let start = try #require(CalendarDate("2026-12-30"))
        #expect(start.nights(until: try #require(CalendarDate("2027-01-02"))) == 3)
        #expect(try #require(CalendarDate("2024-02-28")).nights(until: try #require(CalendarDate("2024-03-01"))) == 2)
        #expect(try #require(CalendarDate("1970-01-01")).dayNumber == 0)
    }
}
