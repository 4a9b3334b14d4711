import PatchbayText
import Testing

/// True when no scalar of `text` is one a terminal could act on.
private func isTerminalSafe(_ text: String, allowNewlines: Bool) -> Bool {
    !text.unicodeScalars.contains { SafeText.needsEscape($0) && !(allowNewlines && $0 == "\n") }
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

    @Test("no output scalar ever needs escaping, for every scalar up to U+FFFF")
    func outputIsAlwaysSafe() {
        var escaped = 0
        for value in UInt32(0)...0xFFFF {
            guard let scalar = Unicode.Scalar(value) else { continue }  // surrogates
            let text = "a" + String(Character(scalar)) + "b"
            let line = SafeText.line(text)
            let multiline = SafeText.multiline(text)
            if !isTerminalSafe(line, allowNewlines: false) || line.contains("\n") || line.contains("\t") {
                Issue.record("line() left U+\(String(value, radix: 16)) unsafe: \(line.debugDescription)")
            }
            if !isTerminalSafe(multiline, allowNewlines: true) || multiline.contains("\t") {
                Issue.record("multiline() left U+\(String(value, radix: 16)) unsafe: \(multiline.debugDescription)")
            }
            if SafeText.needsEscape(scalar) {
                escaped += 1
                #expect(line != text)
            }
            // isClean agrees with line().
            #expect(SafeText.isClean(text) == (line == text), "U+\(String(value, radix: 16))")
        }
        // C0 except tab (31) + DEL (1) + C1 (32) + bidi and separators (2 + 5 + 4 + 2 + 1) + interlinear (3).
        #expect(escaped == 31 + 1 + 32 + 2 + 5 + 4 + 2 + 1 + 3)
    }

    @Test("what needs escaping: controls, C1, bidi controls and separators, nothing printable")
    func needsEscape() {
        for scalar: Unicode.Scalar in ["\u{0}", "\u{1B}", "\n", "\r", "\u{7F}", "\u{80}", "\u{9B}", "\u{9F}",
                                       "\u{202E}", "\u{2028}", "\u{2029}", "\u{2066}"] {
            #expect(SafeText.needsEscape(scalar), "U+\(String(scalar.value, radix: 16))")
        }
        for scalar: Unicode.Scalar in ["\t", " ", "a", "~", "\u{A0}", "é", "€", "注", "\u{200D}", "👍"] {
            #expect(!SafeText.needsEscape(scalar), "U+\(String(scalar.value, radix: 16))")
        }
    }
}
