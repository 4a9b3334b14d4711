import Testing
@testable import TerminalUI

@Suite("Block: bordered panels with a title")
struct BlockTests {
    @Test("a titled box and the inner area it returns")
    func titled() {
        var inner = Rect.zero
        let buffer = screen(10, 3) { area, buffer in
            inner = Block(title: "Queue").render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == [
            "┌ Queue ─┐",
            "│        │",
            "└────────┘",
        ])
        #expect(inner == Rect(x: 1, y: 1, width: 8, height: 1))
    }

    @Test("a focused box draws a heavy border")
    func focused() {
        let buffer = screen(10, 4) { area, buffer in
            Block(title: "Queue", focused: true).render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == [
            "┏ Queue ━┓",
            "┃        ┃",
            "┃        ┃",
            "┗━━━━━━━━┛",
        ])
    }

    @Test("a title longer than the box is cut inside the corners")
    func longTitle() {
        let buffer = screen(8, 3) { area, buffer in
            Block(title: "Deliveries").render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == [
            "┌ Deli ┐",
            "│      │",
            "└──────┘",
        ])
        let narrow = screen(5, 2) { area, buffer in Block(title: "Deliveries").render(in: area, into: &buffer) }
        #expect(narrow.lines() == ["┌ D ┐", "└───┘"])
        let tooNarrow = screen(4, 2) { area, buffer in Block(title: "Deliveries").render(in: area, into: &buffer) }
        #expect(tooNarrow.lines() == ["┌──┐", "└──┘"])
    }

    @Test("a wide title character that would straddle the corner is left out")
    func wideTitle() {
        let buffer = screen(9, 2) { area, buffer in
            Block(title: "漢字漢").render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == ["┌ 漢字 ─┐", "└───────┘"])
    }

    @Test("escape sequences in a title are shown, not obeyed")
    func escapedTitle() {
        let buffer = screen(12, 2) { area, buffer in
            Block(title: "\u{1B}[2Jx").render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == ["┌ ^[[2Jx ──┐", "└──────────┘"])
    }

    @Test("title and border take their styles")
    func styles() {
        let border = Style(foreground: .ansi(4))
        let title = Style(bold: true)
        let buffer = screen(10, 3) { area, buffer in
            Block(title: Line("Queue", Style(underline: true)), borderStyle: border, titleStyle: title).render(in: area, into: &buffer)
        }
        #expect(buffer[0, 0].style == border)
        #expect(buffer[1, 0].style == border)
        #expect(buffer[2, 0].style == Style(bold: true, underline: true))
        #expect(buffer[9, 2].style == border)
        #expect(buffer[4, 1].style == .plain)
    }

    @Test("a block inside a larger screen draws only in its area")
    func offsetArea() {
        var buffer = Buffer(width: 8, height: 5)
        let inner = Block(title: "A").render(in: Rect(x: 2, y: 1, width: 5, height: 3), into: &buffer)
        #expect(buffer.lines() == [
            "        ",
            "  ┌ A ┐ ",
            "  │   │ ",
            "  └───┘ ",
            "        ",
        ])
        #expect(inner == Rect(x: 3, y: 2, width: 3, height: 1))
    }

    @Test("2x2 is all corners; smaller draws nothing", arguments: [(2, 2), (1, 1), (1, 3), (3, 1), (0, 0)])
    func tiny(width: Int, height: Int) {
        var inner = Rect(x: 9, y: 9, width: 9, height: 9)
        let buffer = screen(width, height) { area, buffer in
            inner = Block(title: "T").render(in: area, into: &buffer)
        }
        #expect(inner.isEmpty)
        if width == 2 && height == 2 {
            #expect(buffer.lines() == ["┌┐", "└┘"])
        } else {
            #expect(buffer == Buffer(width: width, height: height))
        }
    }
}

@Suite("Paragraph: lines cut or wrapped, scrolled by an offset")
struct ParagraphTests {
    @Test("without wrap, lines are cut at the edge")
    func cut() {
        let buffer = screen(6, 3) { area, buffer in
            Paragraph(["hello world", "second line"]).render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == ["hello ", "second", "      "])
    }

    @Test("with wrap, text continues on the next line")
    func wrap() {
        let buffer = screen(5, 4) { area, buffer in
            Paragraph(["hello world", "ok"], wrap: true).render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == ["hello", " worl", "d    ", "ok   "])
    }

    @Test("offset scrolls the wrapped lines")
    func offset() {
        let buffer = screen(5, 3) { area, buffer in
            Paragraph(["hello world", "ok"], wrap: true, offset: 1).render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == [" worl", "d    ", "ok   "])
        let past = screen(5, 2) { area, buffer in
            Paragraph(["hello"], offset: 5).render(in: area, into: &buffer)
        }
        #expect(past.lines() == ["     ", "     "])
    }

    @Test("a negative offset shows the text from its start")
    func negativeOffset() {
        let buffer = screen(5, 2) { area, buffer in
            Paragraph(["one", "two"], offset: -3).render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == ["one  ", "two  "])
    }

    @Test("wide characters wrap whole, never split across lines")
    func wrapWide() {
        let buffer = screen(3, 3) { area, buffer in
            Paragraph(["漢字漢"], wrap: true).render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == ["漢 ", "字 ", "漢 "])
    }

    @Test("a character wider than the area does not produce an empty line first")
    func wrapWiderThanArea() {
        let lines = Paragraph(["漢字"], wrap: true).layout(width: 1)
        #expect(lines.map(\.plainText) == ["漢", "字"])
        let ascii = Paragraph(["abc"], wrap: true).layout(width: 1)
        #expect(ascii.map(\.plainText) == ["a", "b", "c"])
    }

    @Test("wrapping keeps each span's style")
    func wrapStyles() {
        let red = Style(foreground: .ansi(1))
        let paragraph = Paragraph([Line([Span("abc", red), Span("def")])], wrap: true)
        let laid = paragraph.layout(width: 4)
        #expect(laid == [Line([Span("abc", red), Span("d")]), Line([Span("ef")])])
        let buffer = screen(4, 2) { area, buffer in paragraph.render(in: area, into: &buffer) }
        #expect(buffer.lines() == ["abcd", "ef  "])
        #expect(buffer[2, 0].style == red)
        #expect(buffer[3, 0].style == .plain)
    }

    @Test("empty lines keep their place")
    func emptyLines() {
        let buffer = screen(3, 3) { area, buffer in
            Paragraph(["a", "", "b"], wrap: true).render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == ["a  ", "   ", "b  "])
    }

    @Test("untrusted text in a paragraph is escaped")
    func escaped() {
        let buffer = screen(8, 1) { area, buffer in
            Paragraph(["\u{1B}[2Jhi"]).render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == ["^[[2Jhi "])
    }

    @Test("escaped text wraps at the width it is shown with, losing nothing")
    func escapedWrap() {
        let buffer = screen(4, 3) { area, buffer in
            Paragraph(["\u{1B}[2Jhello"], wrap: true).render(in: area, into: &buffer)
        }
        #expect(buffer.lines() == ["^[[2", "Jhel", "lo  "])
    }
}
