import Foundation
import PatchbayValues
import Testing

/// The one duration grammar of the command line, the dashboard and the configuration.
@Suite("Durations")
struct DurationTests {
    @Test("every unit from milliseconds to weeks, with decimals, blanks and capitals")
    func units() throws {
        #expect(try Durations.parse("250ms") == 0.25)
        #expect(try Durations.parse("90s") == 90)
        #expect(try Durations.parse("15m") == 900)
        #expect(try Durations.parse("2h") == 7200)
        #expect(try Durations.parse("7d") == 604_800)
        #expect(try Durations.parse("1w") == 604_800)
        #expect(try Durations.parse("1.5h") == 5400)
        #expect(try Durations.parse(".5m") == 30)
        #expect(try Durations.parse(" 3s ") == 3)
        #expect(try Durations.parse("2 h") == 7200)
        #expect(try Durations.parse("10S") == 10)
        #expect(try Durations.parse("0s") == 0)
    }

    @Test("a hundred years is the longest; 1e12d and numbers beyond Double say they are too long")
    func bounded() throws {
        #expect(try Durations.parse("5200w") <= Durations.maximum)
        #expect(try Durations.parse("36525d") == Durations.maximum)
        for text in ["36526d", "1e12d", "1e400d", "99999999999999999999999s", "1e308w"] {
            #expect(throws: DurationError.tooLong(text), "\(text)") { try Durations.parse(text) }
        }
        #expect(DurationError.tooLong("1e12d").description == "'1e12d' is longer than 100 years")
        // The bound keeps milliseconds in Int64 and dates in range for every caller.
        let longest = try Durations.parse("36525d")
        #expect(Int64(exactly: (longest * 1000).rounded()) != nil)
        #expect(Date(timeIntervalSince1970: 0).addingTimeInterval(-longest).timeIntervalSince1970.isFinite)
    }

    @Test("negative, NaN, infinity, empty, no unit, unknown unit and words are refused with what was wrong")
    func refused() {
        for text in ["-1s", "-0s", "-1e3d"] {
            #expect(throws: DurationError.negative(text), "\(text)") { try Durations.parse(text) }
        }
        let malformed = ["", "  ", "s", "ms", "90", "1.5", "nan", "nans", "infs", "inf d", "0x10s", "1e5", "5y",
                         "5 minutes", "soon", "1..5s", "1.2.3s", "e5s", "1e+s", "--1s", "5m5s", "½h", "٣s"]
        for text in malformed {
            #expect(throws: DurationError.malformed(text), "\(text)") { try Durations.parse(text) }
        }
        #expect(DurationError.malformed("soon").description
                == "expected a number and a unit like 90s, 15m, 2h, 7d, 1w (or 250ms), found 'soon'")
        #expect(DurationError.malformed("").description.hasSuffix("found an empty value"))
        #expect(DurationError.negative("-1s").description == "'-1s' is negative; a duration is zero or more")
        #expect(Durations.seconds("soon") == nil)
        #expect(Durations.seconds("2h") == 7200)
    }
}
