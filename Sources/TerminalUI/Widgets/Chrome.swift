/// The footer of key hints: `r retry  d discard  ? help`.
public struct KeyHints: Sendable {
    public var hints: [(key: String, action: String)]
    public var keyStyle: Style
    public var textStyle: Style

    public init(_ hints: [(key: String, action: String)], keyStyle: Style, textStyle: Style) {
        self.hints = hints
        self.keyStyle = keyStyle
        self.textStyle = textStyle
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        guard !area.isEmpty else { return }
        var x = area.x
        for hint in hints {
            let width = TextWidth.of(hint.key) + 1 + TextWidth.of(hint.action)
            if x + width > area.right { break }
            x += buffer.write(hint.key, x: x, y: area.y, style: keyStyle)
            x += buffer.write(" " + hint.action, x: x, y: area.y, style: textStyle)
            x += 2
        }
    }
}

/// A centred box asking a question, with its answer keys.
public struct ConfirmDialog: Sendable {
    public var title: String
    public var message: String
    public var borderStyle: Style
    public var textStyle: Style

    public init(title: String, message: String, borderStyle: Style, textStyle: Style) {
        self.title = title
        self.message = message
        self.borderStyle = borderStyle
        self.textStyle = textStyle
    }

    public func render(in area: Rect, into buffer: inout Buffer) {
        let width = min(area.width, max(30, min(70, TextWidth.of(message) + 4)))
        let body = Paragraph([Line(message, textStyle), "", Line("y confirm   n / esc cancel", textStyle.bolded)], wrap: true)
        let height = min(area.height, body.layout(width: width - 2).count + 2)
        let box = area.centered(width: width, height: height)
        buffer.fill(box, style: textStyle)
        let inner = Block(title: Line(title, borderStyle.bolded), borderStyle: borderStyle, focused: true)
            .render(in: box, into: &buffer)
        body.render(in: inner, into: &buffer, base: textStyle)
    }
}

/// A one-line text input (for `/` filters and `:` commands): its text and cursor.
public struct InputLine: Equatable, Sendable {
    public var prompt: String
    public var text: String
    /// Cursor position in characters.
    public var cursor: Int

    public init(prompt: String, text: String = "") {
        self.prompt = prompt
        self.text = text
        self.cursor = text.count
    }

    public mutating func insert(_ character: Character) {
        let index = text.index(text.startIndex, offsetBy: cursor)
        text.insert(character, at: index)
        cursor += 1
    }

    public mutating func backspace() {
        guard cursor > 0 else { return }
        let index = text.index(text.startIndex, offsetBy: cursor - 1)
        text.remove(at: index)
        cursor -= 1
    }

    public mutating func moveLeft() { cursor = max(0, cursor - 1) }
    public mutating func moveRight() { cursor = min(text.count, cursor + 1) }

    public func render(in area: Rect, into buffer: inout Buffer, style: Style) {
        guard !area.isEmpty else { return }
        buffer.fill(area.row(0), style: style)
        let used = buffer.write(prompt, x: area.x, y: area.y, style: style.bolded)
        // Show the end of long input so the cursor stays visible.
        let room = area.width - used - 1
        let visible = TextWidth.of(text) > room ? String(text.suffix(max(0, room))) : text
        let written = buffer.write(visible, x: area.x + used, y: area.y, maxWidth: room, style: style)
        buffer[area.x + used + written, area.y] = Cell(" ", style: style.reversed)
    }
}
