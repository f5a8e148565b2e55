import Foundation

/// A calendar date without time or zone, as bookings use them ("2026-05-05"). Also read from the
/// seed's numeric form 20260505. Parsing looks at ASCII bytes only: other Unicode digits
/// ("٢٠٢٧-٠١-٠٥") are not a date, and nothing here can trap on what a client sends.
public struct CalendarDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// The years a booking can name; outside them a date is a typo, not a plan.
    public static let years: ClosedRange<Int> = 1900...9999

    public init?(year: Int, month: Int, day: Int) {
        guard Self.years.contains(year), (1...12).contains(month), day >= 1, day <= Self.daysIn(month: month, year: year) else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// "2026-05-05" or "20260505", ASCII digits only.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8.prefix(11))
        switch bytes.count {
        case 10:
            guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
                let year = Self.number(bytes[0..<4]), let month = Self.number(bytes[5..<7]), let day = Self.number(bytes[8..<10])
            else { return nil }
            self.init(year: year, month: month, day: day)
        case 8:
            guard let year = Self.number(bytes[0..<4]), let month = Self.number(bytes[4..<6]), let day = Self.number(bytes[6..<8]) else { return nil }
            self.init(year: year, month: month, day: day)
        default:
            return nil
        }
    }

    /// 20260505.
    public init?(compact: Int) {
        guard (10_000_000...99_999_999).contains(compact) else { return nil }
        self.init(year: compact / 10000, month: compact / 100 % 100, day: compact % 100)
    }

    /// The date `dayNumber` days after 1970-01-01 (Howard Hinnant's civil_from_days).
    public init?(dayNumber: Int) {
        // Keeps the arithmetic below far from overflow; covers 1900...9999 with room to spare.
        guard (-100_000...3_000_000).contains(dayNumber) else { return nil }
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yoe + era * 400 + (month <= 2 ? 1 : 0), month: month, day: day)
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
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(year, 4))-\(padded(month, 2))-\(padded(day, 2))"
    }

    /// Today in UTC.
    public static func today(now: Date = Date()) -> CalendarDate {
        let seconds = now.timeIntervalSince1970
        let days = seconds.isFinite ? (seconds / 86_400).rounded(.down) : 0
        let clamped = min(max(days, -100_000), 3_000_000)
        return CalendarDate(dayNumber: Int(clamped)) ?? epoch
    }

    private static let epoch = CalendarDate(checkedYear: 1970, month: 1, day: 1)

    /// For constants only.
    private init(checkedYear year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
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

    /// The value of a run of ASCII digits, or nil if any byte is not one.
    private static func number(_ bytes: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in bytes {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
