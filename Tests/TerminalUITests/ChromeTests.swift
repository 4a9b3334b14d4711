import Testing
@testable import TerminalUI

@Suite("KeyHints, ConfirmDialog and InputLine")
struct ChromeTests {
    let hints = KeyHints([("r", "retry"), ("d", "discard"), ("?", "help")],
                         keyStyle: Style(bold: true), textStyle: Style(dim: true))

    @Test("key hints in a row, two spaces apart")
    func keyHints() {
        let buffer = screen(26, 1) { area, buffer in hints.render(in: area, into: &buffer) }
        #expect(buffer.lines() == ["r retry  d discard  ? help"])
        #expect(buffer[0, 0].style == Style(bold: true))
        #expect(buffer[2, 0].style == Style(dim: true))
    }

    @Test("hints that do not fit are dropped whole", arguments: [
        (25, "r retry  d discard       "),
        (18, "r retry  d discard"),
        (17, "r retry          "),
        (7, "r retry"),
        (6, "      "),
    ])
    func keyHintsDropped(width: Int, expected: String) {
        let buffer = screen(width, 1) { area, buffer in hints.render(in: area, into: &buffer) }
        #expect(buffer.lines() == [expected])
    }

    @Test("a hint whose escaped text is wider than it looks is dropped, not spilled")
    func keyHintsEscaped() {
        var buffer = Buffer(area: Rect(x: 0, y: 0, width: 10, height: 1), filling: Cell("x"))
        let area = Rect(x: 0, y: 0, width: 3, height: 1)
        KeyHints([("\u{1B}", "x")], keyStyle: .plain, textStyle: .plain).render(in: area, into: &buffer)
        #expect(cellsChanged(outside: area, in: buffer, from: "x") == [])
        #expect(buffer.lines() == ["xxxxxxxxxx"])
    }

    let dialog = ConfirmDialog(title: "Discard", message: "Discard 3 deliveries?", borderStyle: .plain, textStyle: .plain)

    @Test("a confirm dialog is centred with its question and answer keys")
    func confirmDialog() {
        let buffer = screen(40, 9) { area, buffer in dialog.render(in: area, into: &buffer) }
        let pad = repeated(" ", 5)
        #expect(buffer.lines() == [
            repeated(" ", 40),
            repeated(" ", 40),
            pad + "┏ Discard " + repeated("━", 19) + "┓" + pad,
            pad + "┃Discard 3 deliveries?       ┃" + pad,
            pad + "┃                            ┃" + pad,
            pad + "┃y confirm   n / esc cancel  ┃" + pad,
            pad + "┗" + repeated("━", 28) + "┛" + pad,
            repeated(" ", 40),
            repeated(" ", 40),
        ])
    }

    @Test("a confirm dialog covers what was drawn under it")
    func confirmDialogCovers() {
        var buffer = Buffer(area: Rect(x: 0, y: 0, width: 34, height: 7), filling: Cell("."))
        dialog.render(in: buffer.area, into: &buffer)
        let dots = repeated(".", 34)
        #expect(buffer.lines() == [
            dots,
            "..┏ Discard " + repeated("━", 19) + "┓..",
            "..┃Discard 3 deliveries?       ┃..",
            "..┃                            ┃..",
            "..┃y confirm   n / esc cancel  ┃..",
            "..┗" + repeated("━", 28) + "┛..",
            dots,
        ])
    }

    @Test("in a 20x5 screen the dialog takes the whole screen and wraps its question")
    func confirmDialogSmall() {
        let buffer = screen(20, 5) { area, buffer in dialog.render(in: area, into: &buffer) }
        #expect(buffer.lines() == [
            "┏ Discard ━━━━━━━━━┓",
            "┃Discard 3 deliveri┃",
            "┃es?               ┃",
            "┃                  ┃",
            "┗━━━━━━━━━━━━━━━━━━┛",
        ])
    }

    @Test("input editing: insert, backspace and cursor moves")
    func inputEditing() {
        var input = InputLine(prompt: "/")
        #expect(input.text == "" && input.cursor == 0)
        for character in "abc" { input.insert(character) }
        #expect(input.text == "abc" && input.cursor == 3)
        input.moveLeft()
        input.moveLeft()
        input.insert("X")
        #expect(input.text == "aXbc" && input.cursor == 2)
        input.backspace()
        #expect(input.text == "abc" && input.cursor == 1)
        for _ in 0..<5 { input.moveLeft() }
        #expect(input.cursor == 0)
        input.backspace()
        #expect(input.text == "abc" && input.cursor == 0)
        input.insert("漢")
        #expect(input.text == "漢abc" && input.cursor == 1)
        for _ in 0..<10 { input.moveRight() }
        #expect(input.cursor == 4)
        for _ in 0..<10 { input.backspace() }
        #expect(input.text == "" && input.cursor == 0)
    }

    @Test("an input line starts with its cursor after the given text")
    func inputInitialCursor() {
        let input = InputLine(prompt: ":", text: "retry")
        #expect(input.cursor == 5)
        var combined = InputLine(prompt: ":", text: "cafe\u{301}")
        #expect(combined.cursor == 4)
        combined.backspace()
        #expect(combined.text == "caf")
    }

    @Test("an input line shows prompt, text and a reversed cursor at the end")
    func inputRender() {
        let input = InputLine(prompt: "filter: ", text: "abc")
        let buffer = screen(14, 1) { area, buffer in input.render(in: area, into: &buffer, style: .plain) }
        #expect(buffer.lines() == ["filter: abc   "])
        #expect(buffer[0, 0].style.bold)
        #expect(buffer[11, 0].style.reverse)
        #expect((0..<14).filter { buffer[$0, 0].style.reverse } == [11])
    }

    @Test("long input shows its end so the cursor stays visible")
    func inputLong() {
        let input = InputLine(prompt: "/", text: "abcdefghijklmnop")
        let buffer = screen(8, 1) { area, buffer in input.render(in: area, into: &buffer, style: .plain) }
        #expect(buffer.lines() == ["/klmnop "])
        #expect(buffer[7, 0].style.reverse)
    }

    @Test("long input of wide characters shows its end, not its middle")
    func inputLongWide() {
        let input = InputLine(prompt: "/", text: "一二三四五六")
        let buffer = screen(8, 1) { area, buffer in input.render(in: area, into: &buffer, style: .plain) }
        #expect(buffer.lines() == ["/四五六 "])
        #expect(buffer[7, 0].style.reverse)
    }

    @Test("the cursor is drawn where the next character will go")
    func inputCursorInside() {
        var input = InputLine(prompt: "/", text: "abc")
        input.moveLeft()
        input.moveLeft()
        let buffer = screen(8, 1) { area, buffer in input.render(in: area, into: &buffer, style: .plain) }
        #expect(buffer.lines() == ["/abc    "])
        #expect((0..<8).filter { buffer[$0, 0].style.reverse } == [2])
    }

    @Test("moving the cursor left in long input scrolls to keep it visible")
    func inputCursorScrolls() {
        var input = InputLine(prompt: "/", text: "abcdefghijklmnop")
        for _ in 0..<14 { input.moveLeft() }   // on "c"
        let buffer = screen(8, 1) { area, buffer in input.render(in: area, into: &buffer, style: .plain) }
        #expect(buffer.lines() == ["/abcdefg"])
        #expect((0..<8).filter { buffer[$0, 0].style.reverse } == [3])
    }

    @Test("input text is escaped when drawn")
    func inputEscaped() {
        let input = InputLine(prompt: "/", text: "\u{1B}[2J")
        let buffer = screen(10, 1) { area, buffer in input.render(in: area, into: &buffer, style: .plain) }
        #expect(buffer.lines() == ["/^[[2J    "])
        #expect(buffer[6, 0].style.reverse)
    }

    @Test("a prompt wider than the area stays inside it")
    func inputLongPrompt() {
        var buffer = Buffer(area: Rect(x: 0, y: 0, width: 12, height: 1), filling: Cell("x"))
        let area = Rect(x: 0, y: 0, width: 4, height: 1)
        InputLine(prompt: "search: ", text: "abc").render(in: area, into: &buffer, style: .plain)
        #expect(cellsChanged(outside: area, in: buffer, from: "x") == [])
        #expect(buffer.lines() == ["searxxxxxxxx"])
    }
}
