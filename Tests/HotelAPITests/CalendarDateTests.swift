import Foundation
import Testing

@testable import HotelAPI

@Suite struct CalendarDateTests {
    @Test func parsesISOAndTheSeedsNumericForm() throws {
        #expect(CalendarDate("2026-05-05") == CalendarDate(year: 2026, month: 5, day: 5))
        #expect(CalendarDate("20260505") == CalendarDate(year: 2026, month: 5, day: 5))
        let decoded = try JSONDecoder().decode([CalendarDate].self, from: Data("[20210505, \"2021-05-08\"]".utf8))
        #expect(decoded.map(\.description) == ["2021-05-05", "2021-05-08"])
    }

    @Test func rejectsImpossibleDates() {
        for text in ["2026-02-30", "2026-13-01", "2026-1-1", "yesterday", "2025-02-29", "", "2026-00-10", "2026-01-00", "0000-01-01"] {
            #expect(CalendarDate(text) == nil, "\(text)")
        }
        #expect(CalendarDate("2024-02-29") != nil, "leap year")
    }

    /// The crash of issue 8: any Unicode digit passed `isNumber`, then `Int(digits)!` trapped.
    @Test func rejectsNonASCIIDigitsWithoutCrashing() {
        let texts = [
            "٢٠٢٧-٠١-٠٥", "٢٠٢٧٠١٠٥", "۲۰۲۷-۰۱-۰۵", "२०२७-०१-०५", "２０２７-０１-０５", "2027-01-٠٥", "2027-0١-05", "Ⅻ027-01-05", "2027−01−05",
        ]
        for text in texts {
            #expect(CalendarDate(text) == nil, "\(text)")
        }
    }

    @Test func rejectsOtherForms() {
        let texts = [
            "+2026-05-05", "-2026-05-05", "2026-05-05T00:00:00Z", " 2026-05-05", "2026-05-05 ", "2026/05/05", "2026-05-5 ", "20260505.0", "2.026e7",
            "99999999", "00000000", "2026-05-05\u{0}", "\u{0}2026-05-05", String(repeating: "9", count: 100_000), "20265-5-05",
        ]
        for text in texts {
            #expect(CalendarDate(text) == nil, "\(text.prefix(40))")
        }
        for number in [-20_260_505, 0, 2_026_050, 202_605_050, Int.max, Int.min, 20_261_301, 20_260_230] {
            #expect(CalendarDate(compact: number) == nil, "\(number)")
        }
        #expect(CalendarDate(compact: 20_260_505) == CalendarDate(year: 2026, month: 5, day: 5))
    }

    @Test func countsNightsAcrossMonthsAndYears() throws {
        let start = try #require(CalendarDate("2026-12-30"))
        #expect(start.nights(until: try #require(CalendarDate("2027-01-02"))) == 3)
        #expect(try #require(CalendarDate("2024-02-28")).nights(until: try #require(CalendarDate("2024-03-01"))) == 2)
        #expect(try #require(CalendarDate("1970-01-01")).dayNumber == 0)
    }

    @Test func dayNumbersRoundTrip() throws {
        for text in ["1900-01-01", "1970-01-01", "2000-02-29", "2026-12-31", "9999-12-31"] {
            let date = try #require(CalendarDate(text))
            #expect(CalendarDate(dayNumber: date.dayNumber) == date, "\(text)")
            #expect(date.description == text)
        }
        #expect(CalendarDate.today(now: Date(timeIntervalSince1970: 1_798_761_600)).description == "2027-01-01")
        #expect(CalendarDate.today(now: Date(timeIntervalSince1970: .infinity)).description.count == 10)
    }
}
