import PatchbayText

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
            let width = TextWidth.of(SafeText.line(hint.key)) + 1 + TextWidth.of(SafeText.line(hint.action))
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
        let used = buffer.write(prompt, x: area.x, y: area.y, maxWidth: area.width, style: style.bolded)
        // Each character as drawn, and the cursor's: on a character, or a blank after the text.
        let shown = text.map { SafeText.line(String($0)) }
        let at = min(max(0, cursor), shown.count)
        let cursorWidth = at < shown.count ? max(1, TextWidth.of(shown[at])) : 1
        let room = area.width - used - cursorWidth
        guard room >= 0 else { return }
        // Start as far left as still shows the cursor, so long input shows its end while typing.
        var first = at
        var before = 0
        while first > 0, before + TextWidth.of(shown[first - 1]) <= room {
            first -= 1
            before += TextWidth.of(shown[first])
        }
        var x = area.x + used
        for index in first..<shown.count {
            let written = buffer.write(shown[index], x: x, y: area.y, maxWidth: area.right - x,
                                       style: index == at ? style.reversed : style)
            if written < TextWidth.of(shown[index]) { break }
            x += written
        }
        if at == shown.count { buffer[x, area.y] = Cell(" ", style: style.reversed) }
    }
}
