import Foundation
import PatchbayText
import Testing

/// What must never reach a terminal as itself, written from the Unicode charts apart from
/// `SafeText.needsEscape`, so a slip in one is caught by the other.
private let forbidden: [ClosedRange<UInt32>] = [
    0x0000...0x0008, 0x000A...0x001F,  // C0 (tab is turned into spaces, checked apart)
    0x007F...0x009F,  // DEL and C1
    0x00AD...0x00AD,  // soft hyphen
    0x061C...0x061C,  // Arabic letter mark
    0x200B...0x200F,  // zero-width space, non-joiner, joiner; left-to-right and right-to-left marks
    0x2028...0x202E,  // line and paragraph separators; bidi embeddings and overrides
    0x2060...0x206F,  // word joiner, invisible operators, bidi isolates, deprecated format controls
    0xFEFF...0xFEFF,  // zero-width no-break space
    0xFFF9...0xFFFB,  // interlinear annotation
    0xE0000...0xE007F,  // tag characters
]

private func isForbidden(_ value: UInt32) -> Bool {
    forbidden.contains { $0.contains(value) }
}

/// True when no scalar of `text` is one a terminal could act on or a reader could not see.
private func isTerminalSafe(_ text: String, allowNewlines: Bool) -> Bool {
    !text.unicodeScalars.contains { isForbidden($0.value) && !(allowNewlines && $0 == "\n") }
}

/// The escape a forbidden scalar must become, derived here rather than read from SafeText.
private func expectedEscape(_ value: UInt32, keepNewlines: Bool) -> String {
    switch value {
    case 0x0A where keepNewlines: return "\n"
    case 0x00...0x1F: return "^" + String(UnicodeScalar(UInt8(value + 0x40)))
    case 0x7F: return "^?"
    default: return "\\u{" + String(value, radix: 16, uppercase: true) + "}"
    }
}

@Suite("SafeText: untrusted text made safe for a terminal")
struct SafeTextTests {
    @Test("escape sequences become visible text", arguments: [
        // Window title (OSC 0), clipboard write (OSC 52), hyperlink (OSC 8).
        ("\u{1B}]0;pwned\u{07}", "^[]0;pwned^G"),
        ("\u{1B}]52;c;ZWNobyBoaQ==\u{07}", "^[]52;c;ZWNobyBoaQ==^G"),
        ("\u{1B}]8;;https://evil.example/\u{1B}\\click\u{1B}]8;;\u{1B}\\", "^[]8;;https://evil.example/^[\\click^[]8;;^[\\"),
        // CSI: clear the screen, move the cursor, colour.
        ("\u{1B}[2J\u{1B}[H\u{1B}[31mred", "^[[2J^[[H^[[31mred"),
        // DCS with a string terminator, and the 8-bit C1 forms of CSI, DCS, OSC and ST.
        ("\u{1B}P1$r\u{1B}\\", "^[P1$r^[\\"),
        ("\u{9B}31mred", "\\u{9B}31mred"),
        ("\u{90}q\u{9C}", "\\u{90}q\\u{9C}"),
        ("\u{9D}0;t\u{07}", "\\u{9D}0;t^G"),
        ("\u{85}next line", "\\u{85}next line"),
    ])
    func escapeSequences(input: String, expected: String) {
        #expect(SafeText.line(input) == expected)
        #expect(SafeText.multiline(input) == expected)
        #expect(isTerminalSafe(SafeText.line(input), allowNewlines: false))
        #expect(!SafeText.isClean(input))
    }

    @Test("C0 controls and DEL use caret notation; bidi overrides and separators use \\u{…}", arguments: [
        ("a\u{0}b", "a^@b"),
        ("a\rb", "a^Mb"),
        ("a\u{8}b", "a^Hb"),
        ("a\u{7F}b", "a^?b"),
        ("bell\u{07}", "bell^G"),
        ("\u{1F}", "^_"),
        ("abc\u{202E}fed", "abc\\u{202E}fed"),
        ("\u{202A}\u{202B}\u{202C}\u{202D}", "\\u{202A}\\u{202B}\\u{202C}\\u{202D}"),
        ("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
        ("\u{200E}\u{200F}\u{061C}", "\\u{200E}\\u{200F}\\u{61C}"),
        ("line\u{2028}sep", "line\\u{2028}sep"),
        ("para\u{2029}sep", "para\\u{2029}sep"),
        ("\u{FFF9}ruby\u{FFFB}", "\\u{FFF9}ruby\\u{FFFB}"),
    ])
    func controls(input: String, expected: String) {
        #expect(SafeText.line(input) == expected)
        #expect(SafeText.multiline(input) == expected)
        #expect(isTerminalSafe(SafeText.line(input), allowNewlines: false))
    }

    @Test("line() escapes newlines and turns tabs into a space; multiline() keeps \\n and expands tabs")
    func newlinesAndTabs() {
        let text = "{\n\t\"a\": 1\r\n}"
        #expect(SafeText.line(text) == "{^J \"a\": 1^M^J}")
        #expect(SafeText.multiline(text) == "{\n    \"a\": 1^M\n}")
        #expect(isTerminalSafe(SafeText.multiline(text), allowNewlines: true))
        #expect(SafeText.multiline("one\ntwo\n") == "one\ntwo\n")
        #expect(SafeText.line("one\ntwo") == "one^Jtwo")
        #expect(!SafeText.isClean("one\ntwo"))
        #expect(!SafeText.isClean("a\tb"))
    }

    @Test("plain text, CJK and emoji pass through unchanged", arguments: [
        "",
        "HTTP 503: Service Unavailable (retry in 27 s)",
        "Atelier Moreau SARL — 1 930,74 €",
        "注文番号 1042 を請求書に変換しました",
        "주문이 처리되었습니다",
        "مرحبا بالعالم",
        "emoji 👩‍👩‍👧 🇫🇷 👍🏽 ✅",
        "combining: e\u{301} n\u{303}",
        "^[ is already caret text",
    ])
    func plainTextUnchanged(text: String) {
        #expect(SafeText.line(text) == text)
        #expect(SafeText.multiline(text) == text)
        #expect(SafeText.isClean(text))
    }

    @Test("every scalar of Unicode: what the independent table forbids is escaped as expected, the rest passes unchanged")
    func everyScalar() {
        var forbiddenSeen = 0
        // Chunks of 4,096 scalars, each after an "a" so none joins its neighbour into an emoji.
        for chunkStart in stride(from: UInt32(0), through: 0x10FFFF, by: 4096) {
            var allowed = String.UnicodeScalarView()
            var hostile = String.UnicodeScalarView()
            var expectedLine = ""
            var expectedMultiline = ""
            for value in chunkStart..<min(chunkStart + 4096, 0x110000) {
                guard let scalar = Unicode.Scalar(value), value != 0x09 else { continue }  // surrogates; tab apart
                let isHostile = isForbidden(value)
                if SafeText.needsEscape(scalar) != isHostile {
                    Issue.record("needsEscape(U+\(String(value, radix: 16))) disagrees with the table")
                }
                if isHostile {
                    forbiddenSeen += 1
                    hostile.append("a")
                    hostile.append(scalar)
                    expectedLine += "a" + expectedEscape(value, keepNewlines: false)
                    expectedMultiline += "a" + expectedEscape(value, keepNewlines: true)
                } else {
                    allowed.append("a")
                    allowed.append(scalar)
                }
            }
            let clean = String(allowed)
            let label = "chunk at U+\(String(chunkStart, radix: 16))"
            #expect(SafeText.line(clean) == clean, "\(label): line() changed text it should keep")
            #expect(SafeText.multiline(clean) == clean, "\(label): multiline() changed text it should keep")
            #expect(SafeText.isClean(clean), "\(label)")
            #expect(!SafeText.csvField(clean).unicodeScalars.contains { isForbidden($0.value) }, "\(label)")
            guard !hostile.isEmpty else { continue }
            let text = String(hostile)
            let line = SafeText.line(text)
            let multiline = SafeText.multiline(text)
            #expect(line == expectedLine, "\(label): line()")
            #expect(multiline == expectedMultiline, "\(label): multiline()")
            #expect(isTerminalSafe(line, allowNewlines: false) && !line.contains("\n"), "\(label)")
            #expect(isTerminalSafe(multiline, allowNewlines: true), "\(label)")
            #expect(!SafeText.isClean(text), "\(label)")
            let csv = SafeText.csvField(text)
            #expect(!csv.unicodeScalars.contains { isForbidden($0.value) }, "\(label): csvField()")
            let csvFile = SafeText.csvField(text, keepLineBreaks: true)
            #expect(!csvFile.unicodeScalars.contains { isForbidden($0.value) && $0 != "\n" && $0 != "\r" }, "\(label)")
        }
        // C0 but tab (31), DEL and C1 (33), U+AD, U+61C, U+200B-F (5), U+2028-E (7), U+2060-F (16),
        // U+FEFF, U+FFF9-B (3), tags (128).
        #expect(forbiddenSeen == 31 + 33 + 1 + 1 + 5 + 7 + 16 + 1 + 3 + 128)
    }

    @Test("invisible characters are shown: zero-width, soft hyphen, word joiner, BOM, tags", arguments: [
        ("pay\u{200B}pal", "pay\\u{200B}pal"),
        ("Ac\u{200C}me\u{200D}", "Ac\\u{200C}me\\u{200D}"),
        ("a\u{200D}b", "a\\u{200D}b"),
        ("Müller\u{AD}bau", "Müller\\u{AD}bau"),
        ("x\u{2060}y\u{2062}z\u{2064}", "x\\u{2060}y\\u{2062}z\\u{2064}"),
        ("\u{FEFF}Acme", "\\u{FEFF}Acme"),
        // ASCII smuggled in tag characters ("hi"), and tags after an emoji that is no flag.
        ("ok\u{E0068}\u{E0069}", "ok\\u{E0068}\\u{E0069}"),
        ("👍\u{E0061}\u{E007F}", "👍\\u{E0061}\\u{E007F}"),
        // A flag base with too long a tag run, or none of the cancel tag, is no flag.
        ("🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E0061}\u{E0062}\u{E0063}\u{E007F}",
         "🏴\\u{E0067}\\u{E0062}\\u{E0073}\\u{E0063}\\u{E0074}\\u{E0061}\\u{E0062}\\u{E0063}\\u{E007F}"),
        ("🏴\u{E0067}\u{E0062}", "🏴\\u{E0067}\\u{E0062}"),
        // A joiner dangling after an emoji joins nothing.
        ("👍\u{200D}a", "👍\\u{200D}a"),
    ])
    func invisibleCharacters(input: String, expected: String) {
        #expect(SafeText.line(input) == expected)
        #expect(SafeText.multiline(input) == expected)
        #expect(!SafeText.isClean(input))
    }

    @Test("emoji held together by a joiner or by tags stay whole", arguments: [
        "👩\u{200D}👩\u{200D}👧",
        "👩🏽\u{200D}💻",
        "🏳\u{FE0F}\u{200D}🌈",
        "❤\u{FE0F}\u{200D}🔥",
        "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}",  // Scotland
        "Café 🏴\u{E0067}\u{E0062}\u{E0077}\u{E006C}\u{E0073}\u{E007F} Ltd",  // Wales
    ])
    func emojiSequences(text: String) {
        #expect(SafeText.line(text) == text)
        #expect(SafeText.multiline(text) == text)
        #expect(SafeText.isClean(text))
        #expect(SafeText.csvField(text) == text)
    }

    @Test("what needs escaping: controls, C1, bidi controls, separators and invisible characters, nothing printable")
    func needsEscape() {
        for scalar: Unicode.Scalar in ["\u{0}", "\u{1B}", "\n", "\r", "\u{7F}", "\u{80}", "\u{9B}", "\u{9F}",
                                       "\u{202E}", "\u{2028}", "\u{2029}", "\u{2066}", "\u{200B}", "\u{200D}",
                                       "\u{AD}", "\u{2060}", "\u{FEFF}", "\u{E0001}", "\u{E0041}", "\u{E007F}"] {
            #expect(SafeText.needsEscape(scalar), "U+\(String(scalar.value, radix: 16))")
        }
        for scalar: Unicode.Scalar in ["\t", " ", "a", "~", "\u{A0}", "é", "€", "注", "\u{FE0F}", "👍",
                                       "\u{E0080}", "\u{E0100}", "\u{10FFFF}"] {
            #expect(!SafeText.needsEscape(scalar), "U+\(String(scalar.value, radix: 16))")
        }
    }
}

@Suite("SafeText.csvField: CSV that is safe on a terminal and in a spreadsheet")
struct CSVFieldTests {
    @Test("plain text and numbers pass; amounts stay numbers", arguments: [
        "plain", "Hoffmann Küchen GmbH", "", "12", "-12.50", "+3", "0.5", "1234567.89", "注文", "a\tb",
    ])
    func unchanged(text: String) {
        #expect(SafeText.csvField(text) == text)
    }

    @Test("a field a spreadsheet would run gets a leading quote", arguments: [
        ("=1+1", "'=1+1"),
        ("+1-2", "'+1-2"),
        ("-rm", "'-rm"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-1e5", "'-1e5"),
        ("-inf", "'-inf"),
        ("-12.", "'-12."),
        ("--1", "'--1"),
        ("\tx", "'\tx"),
        ("\r=1", "'\\u000D=1"),
        ("  =1+1", "'  =1+1"),
        ("\u{FF1D}1+1", "'\u{FF1D}1+1"),
        ("=HYPERLINK(\"https://evil.example\",\"x\")", "\"'=HYPERLINK(\"\"https://evil.example\"\",\"\"x\"\")\""),
    ])
    func formulas(input: String, expected: String) {
        #expect(SafeText.csvField(input) == expected)
    }

    @Test("RFC 4180 quoting: commas and quotes; line breaks quoted in files, escaped otherwise")
    func quoting() {
        #expect(SafeText.csvField("a,b") == "\"a,b\"")
        #expect(SafeText.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(SafeText.csvField("=a,b") == "\"'=a,b\"")
        #expect(SafeText.csvField("two\nlines") == "two\\u000Alines")
        #expect(SafeText.csvField("line\rbreak") == "line\\u000Dbreak")
        #expect(SafeText.csvField("two\nlines", keepLineBreaks: true) == "\"two\nlines\"")
        #expect(SafeText.csvField("line\rbreak", keepLineBreaks: true) == "\"line\rbreak\"")
    }

    @Test("controls, C1, bidi and tags become \\uXXXX; nothing a terminal acts on is left", arguments: [
        ("\u{1B}]52;c;SGVsbG8=\u{07}", "\\u001B]52;c;SGVsbG8=\\u0007"),
        ("\u{9B}31mred", "\\u009B31mred"),
        ("abc\u{202E}fed", "abc\\u202Efed"),
        ("ok\u{E0068}", "ok\\uDB40\\uDC68"),
        ("\u{1B}[2J", "\\u001B[2J"),
    ])
    func controls(input: String, expected: String) {
        #expect(SafeText.csvField(input) == expected)
        #expect(SafeText.csvField(input, keepLineBreaks: true) == expected)
    }

    @Test("a JSON column stays valid JSON and decodes to the original text")
    func jsonColumnRoundTrips() throws {
        let name = "Ev\u{1B}]52;c;SGk=\u{07}il \u{202E}fed\u{200B} \u{9B}2J 🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F} ok\u{E0068}"
        let payload = String(decoding: try JSONSerialization.data(withJSONObject: ["name": name]), as: UTF8.self)
        let pretty = "{\n\t\"name\" : " + payload.dropFirst("{\"name\":".count)
        for json in [payload, pretty] {
            let field = SafeText.csvField(json, keepLineBreaks: true)
            // Nothing forbidden is left but the line breaks and the flag's own tags.
            let scotland = "🏴\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}"
            #expect(!field.replacingOccurrences(of: scotland, with: "").unicodeScalars.contains { isForbidden($0.value) && $0 != "\n" })
            // Undo the CSV quoting, then read the JSON back.
            var inner = field
            if inner.hasPrefix("\"") { inner = String(inner.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"") }
            let object = try JSONSerialization.jsonObject(with: Data(inner.utf8)) as? [String: String]
            #expect(object?["name"] == name, "\(field)")
        }
    }
}

