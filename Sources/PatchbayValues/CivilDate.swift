/// A calendar date as `YYYY-MM-DD` text and as a day count, with integer arithmetic only.
public enum CivilDate {
    /// `YYYY-MM-DD` for a real calendar date, or nil (`2026-02-29` is nil).
    public static func iso(year: Int, month: Int, day: Int) -> String? {
        guard (1...9999).contains(year), (1...12).contains(month),
              day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
        let y = String(year), m = String(month), d = String(day)
        return String(repeating: "0", count: 4 - y.count) + y + "-"
            + (m.count == 1 ? "0" + m : m) + "-" + (d.count == 1 ? "0" + d : d)
    }

    /// Days since 1970-01-01 of a strict `YYYY-MM-DD` date, or nil when it is not one.
    ///
    /// Reads the bytes in place, building nothing: the aging report calls it once per customer and date.
    public static func dayNumber(_ text: String) -> Int? {
        var year = 0, month = 0, day = 0, position = 0
        for byte in text.utf8 {
            switch position {
            case 4, 7:
                guard byte == UInt8(ascii: "-") else { return nil }
            case 0..<10:
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                let digit = Int(byte - UInt8(ascii: "0"))
                if position < 4 { year = year * 10 + digit } else if position < 7 { month = month * 10 + digit } else {
                    day = day * 10 + digit
                }
            default:
                return nil
            }
            position += 1
        }
        guard position == 10, (1...9999).contains(year), (1...12).contains(month),
              day >= 1, day <= daysInMonth(year: year, month: month) else { return nil }
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }
}
