import Testing
@testable import TerminalUI

@Suite("TextWidth: columns a string takes on a terminal")
struct TextWidthTests {
    @Test("widths of ASCII, CJK, emoji and combining marks", arguments: [
        ("", 0),
        ("a", 1),
        ("hello", 5),
        ("漢", 2),
        ("漢字", 4),
        ("a漢b", 4),
        ("한글", 4),                          // Hangul syllables
        ("ＡＢ", 4),                          // fullwidth Latin
        ("ｱｲ", 2),                            // halfwidth katakana stays narrow
        ("😀", 2),
        ("🚀ok", 4),
        ("👨‍👩‍👧", 2),                           // ZWJ family: one glyph
        ("🏳️‍🌈", 2),                           // flag ZWJ sequence with VS16
        ("❤️", 2),                            // VS16: emoji presentation
        ("❤", 1),                             // the same heart as text
        ("👍🏽", 2),                            // skin-tone modifier
        ("e\u{301}", 1),                      // e + combining acute
        ("\u{301}", 0),                       // a lone combining mark
        ("cafe\u{301}", 4),
        ("a\u{200B}b", 2),                    // zero-width space
        ("é", 1),
    ])
    func widths(text: String, expected: Int) {
        #expect(TextWidth.of(text) == expected)
    }

    @Test("control characters take no columns: they are escaped before drawing")
    func controls() {
        #expect(TextWidth.of(Unicode.Scalar(0x1B)) == 0)
        #expect(TextWidth.of(Unicode.Scalar(0x7F)) == 0)
        #expect(TextWidth.of(Unicode.Scalar(0x9B)) == 0)
    }

    @Test("a stack of combining marks is one character one column wide")
    func combiningStack() {
        let zalgo = "e" + String(repeating: "\u{301}", count: 100)
        #expect(zalgo.count == 1)
        #expect(TextWidth.of(zalgo) == 1)
    }

    @Test("Line width sums its spans")
    func lineWidth() {
        #expect(Line([Span("ab"), Span("漢"), Span("😀")]).width == 6)
        #expect(Line([Span("ab"), Span("漢")]).plainText == "ab漢")
    }

    @Test("truncate cuts with an ellipsis", arguments: [
        ("hello world", 5, "hell…"),
        ("hello", 5, "hello"),
        ("hello", 10, "hello"),
        ("hello", 1, "…"),
        ("hello", 0, ""),
        ("hello", -3, ""),
        ("漢字漢字", 5, "漢字…"),
        ("漢字漢字", 4, "漢…"),               // 字 would straddle the edge: dropped, not halved
        ("漢字漢字", 2, "…"),
        ("a漢字", 3, "a…"),
        ("😀😀😀", 4, "😀…"),
        ("cafe\u{301}s", 5, "cafe\u{301}s"),
        ("cafe\u{301}ss", 5, "cafe\u{301}…"),
    ])
    func truncate(text: String, width: Int, expected: String) {
        #expect(TextWidth.truncate(text, to: width) == expected)
    }

    @Test("truncate without an ellipsis keeps as much as fits")
    func truncateWithoutEllipsis() {
        #expect(TextWidth.truncate("hello", to: 3, ellipsis: false) == "hel")
        #expect(TextWidth.truncate("漢字漢字", to: 3, ellipsis: false) == "漢")
        #expect(TextWidth.truncate("漢字", to: 1, ellipsis: false) == "")
    }

    @Test("truncate never exceeds the width and leaves text that fits alone")
    func truncateNeverExceeds() {
        let samples = ["", "a", "abcdefghij", "漢字漢字漢字", "a漢b字c", "😀x👨‍👩‍👧y❤️", "e\u{301}e\u{301}e\u{301}", "ｱ漢ｲ字", "한국어 텍스트"]
        for text in samples {
            for width in 0...14 {
                let cut = TextWidth.truncate(text, to: width)
                #expect(TextWidth.of(cut) <= width, "\(text.debugDescription) at \(width) gave \(cut.debugDescription)")
                if TextWidth.of(text) <= width { #expect(cut == text) } else if width > 0 { #expect(cut.hasSuffix("…")) }
                let bare = TextWidth.truncate(text, to: width, ellipsis: false)
                #expect(TextWidth.of(bare) <= width)
                #expect(text.hasPrefix(bare))
            }
        }
    }
}
