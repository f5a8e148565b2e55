import Foundation

/// A calendar date without time or zone, as bookings use them ("2026-05-05"). Also read from the
/// seed's numeric form 20260505.
public struct CalendarDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public init?(year: Int, month: Int, day: Int) {
        guard (1900...9999).contains(year), (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// "2026-05-05" or "20260505".
    public init?(_ text: String) {
        let digits = text.filter(\.isNumber)
        if text.count == 10, text.dropFirst(4).first == "-", text.dropFirst(7).first == "-", digits.count == 8 {
            self.init(compact: Int(digits)!)
        } else if text.count == 8, digits.count == 8 {
            self.init(compact: Int(digits)!)
        } else {
            return nil
        }
    }

    /// 20260505.
    public init?(compact: Int) {
        self.init(year: compact / 10000, month: compact / 100 % 100, day: compact % 100)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self), let date = CalendarDate(compact: number) {
            self = date
        } else if let text = try? container.decode(String.self), let date = CalendarDate(text) {
            self = date
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a date like \"2026-05-05\"")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public var description: String {
        String(format: "%04d-%02d-%02d", year, month, day)
    }

    /// Today in UTC.
    public static func today(now: Date = Date()) -> CalendarDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day], from: now)
        return CalendarDate(year: parts.year!, month: parts.month!, day: parts.day!)!
    }

    /// Days since 1970-01-01 (civil-from-days inverse, Howard Hinnant's algorithm).
    public var dayNumber: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// Nights from this date to `end`.
    public func nights(until end: CalendarDate) -> Int {
        end.dayNumber - dayNumber
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
