import Testing
@testable import TerminalUI

@Suite("Buffer: the in-memory screen and its write")
struct BufferTests {
    @Test("a new buffer is blank; lines keep trailing spaces, text trims them")
    func blank() {
        var buffer = Buffer(width: 4, height: 2)
        #expect(buffer.lines() == ["    ", "    "])
        buffer.write("ab", x: 1, y: 0)
        #expect(buffer.lines() == [" ab ", "    "])
        #expect(buffer.text == " ab\n")
    }

    @Test("a 0x0 buffer has no lines and ignores writes")
    func zeroSize() {
        var buffer = Buffer(width: 0, height: 0)
        #expect(buffer.write("hello", x: 0, y: 0) == 0)
        buffer[0, 0] = Cell("x")
        buffer.fill(Rect(x: 0, y: 0, width: 3, height: 3))
        buffer.setStyle(Style(bold: true), in: Rect(x: 0, y: 0, width: 3, height: 3))
        #expect(buffer.lines() == [])
        #expect(buffer.cells.isEmpty)
        #expect(buffer[0, 0] == .blank)
    }

    @Test("write clips at maxWidth and returns the columns written")
    func clipsAtMaxWidth() {
        var buffer = Buffer(width: 10, height: 1)
        #expect(buffer.write("hello", x: 0, y: 0, maxWidth: 3) == 3)
        #expect(buffer.lines() == ["hel       "])
        #expect(buffer.write("world", x: 4, y: 0, maxWidth: 0) == 0)
        #expect(buffer.write("world", x: 4, y: 0, maxWidth: -2) == 0)
        #expect(buffer.lines() == ["hel       "])
    }

    @Test("write clips at the buffer's right edge")
    func clipsAtEdge() {
        var buffer = Buffer(width: 10, height: 1)
        #expect(buffer.write("hello", x: 7, y: 0) == 3)
        #expect(buffer.lines() == ["       hel"])
    }

    @Test("a wide character takes two cells, the second a continuation")
    func wideCharacters() {
        var buffer = Buffer(width: 6, height: 1)
        #expect(buffer.write("漢字a", x: 0, y: 0) == 5)
        #expect(buffer.cells.map(\.symbol) == ["漢", "", "字", "", "a", " "])
        #expect(buffer[1, 0] == Cell.continuation)
        #expect(buffer.lines() == ["漢字a "])
    }

    @Test("a wide character is never half drawn at the edge or at maxWidth")
    func wideAtEdge() {
        var edge = Buffer(width: 3, height: 1)
        #expect(edge.write("漢字", x: 0, y: 0) == 2)
        #expect(edge.cells.map(\.symbol) == ["漢", "", " "])
        var limited = Buffer(width: 10, height: 1)
        #expect(limited.write("a漢字", x: 2, y: 0, maxWidth: 4) == 3)
        #expect(limited.lines() == ["  a漢" + repeated(" ", 5)])
        #expect(limited[5, 0].symbol == " ")
        var last = Buffer(width: 4, height: 1)
        last.write("ab漢", x: 1, y: 0)
        #expect(last.lines() == [" ab "])
    }

    @Test("emoji sequences are one wide cell", arguments: ["😀", "👨‍👩‍👧", "❤️", "👍🏽"])
    func emoji(emoji: String) {
        var buffer = Buffer(width: 4, height: 1)
        #expect(buffer.write(emoji + "x", x: 0, y: 0) == 3)
        #expect(buffer.cells.map(\.symbol) == [emoji, "", "x", " "])
    }

    @Test("escape sequences and controls come out as visible escapes", arguments: [
        ("\u{1B}[2J", "^[[2J"),
        ("\u{1B}]0;title\u{07}", "^[]0;title^G"),
        ("a\rb", "a^Mb"),
        ("a\nb", "a^Jb"),
        ("a\tb", "a b"),
        ("\u{9B}31m", "\\u{9B}31m"),
        ("x\u{7F}", "x^?"),
        ("\u{202E}abc", "\\u{202E}abc"),
    ])
    func escapes(input: String, shown: String) {
        var buffer = Buffer(width: 16, height: 1)
        let written = buffer.write(input, x: 0, y: 0)
        #expect(written == shown.count)
        #expect(buffer.text == shown)
        // No cell holds anything a terminal would act on.
        for cell in buffer.cells {
            #expect(!cell.symbol.unicodeScalars.contains { $0.value < 0x20 || (0x7F..<0xA0).contains($0.value) })
        }
    }

    @Test("escapes count against maxWidth after they are made visible")
    func escapesClip() {
        var buffer = Buffer(width: 10, height: 1)
        #expect(buffer.write("\u{1B}[2J", x: 0, y: 0, maxWidth: 3) == 3)
        #expect(buffer.lines() == ["^[[       "])
    }

    @Test("a stack of 100 combining marks stays in one cell with at most 5 scalars")
    func combiningStack() {
        var buffer = Buffer(width: 4, height: 1)
        let zalgo = "e" + String(repeating: "\u{301}", count: 100)
        #expect(buffer.write(zalgo + "x", x: 0, y: 0) == 2)
        #expect(buffer[0, 0].symbol.unicodeScalars.count <= 5)
        #expect(buffer[0, 0].symbol.unicodeScalars.first == "e")
        #expect(buffer[1, 0].symbol == "x")
        #expect(buffer[2, 0].symbol == " ")
    }

    @Test("a combined character keeps its marks")
    func combined() {
        var buffer = Buffer(width: 3, height: 1)
        buffer.write("e\u{301}a", x: 0, y: 0)
        #expect(buffer.cells.map(\.symbol) == ["e\u{301}", "a", " "])
    }

    @Test("a lone zero-width character joins the glyph before it, never a wide character's continuation")
    func zeroWidthAfterWide() {
        // A variation selector: zero width, and shown as is (unlike U+200B, below).
        var buffer = Buffer(width: 4, height: 1)
        #expect(buffer.write("漢\u{FE0E}a", x: 0, y: 0) == 3)
        #expect(buffer[1, 0] == Cell.continuation)
        #expect(buffer[0, 0].symbol.unicodeScalars.first == "漢")
        #expect(buffer[2, 0].symbol == "a")
        var narrow = Buffer(width: 3, height: 1)
        narrow.write("a\u{FE0E}b", x: 0, y: 0)
        #expect(narrow[0, 0].symbol == "a\u{FE0E}")
        #expect(narrow[1, 0].symbol == "b")
        // At the start of a write there is nothing to join: the mark is dropped.
        var start = Buffer(width: 2, height: 1)
        start.write("\u{FE0E}a", x: 0, y: 0)
        #expect(start.cells.map(\.symbol) == ["a", " "])
    }

    @Test("zero-width spaces and byte-order marks in data are shown escaped, not hidden")
    func invisibleCharactersAreVisible() {
        var buffer = Buffer(width: 20, height: 1)
        buffer.write("a\u{200B}b\u{FEFF}", x: 0, y: 0)
        #expect(buffer.cells.map(\.symbol).joined() == "a\\u{200B}b\\u{FEFF}" + "  ")
    }

    @Test("writing at negative coordinates draws only the part inside the buffer")
    func negativeX() {
        var buffer = Buffer(width: 5, height: 1)
        buffer.write("abc", x: -1, y: 0)
        #expect(buffer.lines() == ["bc   "])
        var wide = Buffer(width: 5, height: 1)
        wide.write("漢字", x: -1, y: 0)
        #expect(wide.cells.map(\.symbol) == [" ", "字", "", " ", " "])
        var far = Buffer(width: 5, height: 1)
        far.write("abc", x: -1000, y: 0)
        #expect(far.lines() == ["     "])
    }

    @Test("writing out of range does nothing", arguments: [(0, -1), (0, 2), (5, 0), (100, 1), (Int.max, 0), (0, Int.min), (0, Int.max)])
    func outOfRange(x: Int, y: Int) {
        var buffer = Buffer(width: 5, height: 2)
        #expect(buffer.write("abc", x: x, y: y) == 0)
        #expect(buffer == Buffer(width: 5, height: 2))
    }

    @Test("subscripts outside the buffer read blank and write nothing")
    func subscriptOutside() {
        var buffer = Buffer(width: 2, height: 2)
        buffer[-1, 0] = Cell("x")
        buffer[2, 0] = Cell("x")
        buffer[0, 5] = Cell("x")
        #expect(buffer == Buffer(width: 2, height: 2))
        #expect(buffer[7, 7] == .blank)
    }

    @Test("a buffer with an offset origin draws at its own coordinates")
    func offsetOrigin() {
        var buffer = Buffer(area: Rect(x: 10, y: 5, width: 4, height: 2))
        buffer.write("abcdef", x: 11, y: 6)
        buffer.write("zz", x: 0, y: 0)
        #expect(buffer.lines() == ["    ", " abc"])
        #expect(buffer[11, 6].symbol == "a")
    }

    @Test("write applies the style to every cell it writes")
    func style() {
        var buffer = Buffer(width: 4, height: 1)
        let bold = Style(bold: true)
        buffer.write("漢a", x: 0, y: 0, style: bold)
        #expect(buffer.cells.map(\.style) == [bold, bold, bold, .plain])
    }

    @Test("a line of spans writes each span in its style laid over the base")
    func spans() {
        var buffer = Buffer(width: 8, height: 1)
        let red = Style(foreground: .ansi(1))
        let base = Style(background: .ansi(4))
        let written = buffer.write(Line([Span("ab", red), Span("cdef")]), x: 1, y: 0, maxWidth: 4, base: base)
        #expect(written == 4)
        #expect(buffer.lines() == [" abcd   "])
        #expect(buffer[1, 0].style == Style(foreground: .ansi(1), background: .ansi(4)))
        #expect(buffer[3, 0].style == base)
        #expect(buffer[5, 0].style == .plain)
    }

    @Test("fill and setStyle are clipped to the buffer")
    func fillAndSetStyle() {
        var buffer = Buffer(width: 4, height: 2)
        buffer.write("abcd", x: 0, y: 0)
        buffer.setStyle(Style(underline: true), in: Rect(x: 2, y: -1, width: 10, height: 2))
        buffer.fill(Rect(x: -2, y: 1, width: 4, height: 5), symbol: "#")
        #expect(buffer.lines() == ["abcd", "##  "])
        #expect(buffer[1, 0].style == .plain)
        #expect(buffer[2, 0].style == Style(underline: true))
        #expect(buffer[2, 0].symbol == "c")
    }

    @Test("Style helpers and over")
    func styleOver() {
        let base = Style(foreground: .ansi(2), background: .ansi(0), dim: true)
        let top = Style(foreground: .rgb(1, 2, 3), bold: true)
        #expect(top.over(base) == Style(foreground: .rgb(1, 2, 3), background: .ansi(0), bold: true, dim: true))
        #expect(Style.plain.over(base) == base)
        #expect(Style.plain.bolded.reversed == Style(bold: true, reverse: true))
        #expect(Style.plain.with(foreground: .indexed(9)).with(background: .default) == Style(foreground: .indexed(9)))
    }
}
