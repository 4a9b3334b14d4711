@testable import TerminalUI

/// A `width`x`height` buffer after `draw` has rendered into the whole of it.
func screen(_ width: Int, _ height: Int, _ draw: (Rect, inout Buffer) -> Void) -> Buffer {
    var buffer = Buffer(width: width, height: height)
    draw(buffer.area, &buffer)
    return buffer
}

/// `count` copies of `text`, for building expected lines without counting by hand.
func repeated(_ text: String, _ count: Int) -> String {
    String(repeating: text, count: max(0, count))
}

/// The cells of `buffer` outside `area` that are no longer `symbol`: where a widget drew out of bounds.
func cellsChanged(outside area: Rect, in buffer: Buffer, from symbol: String) -> [String] {
    var changed: [String] = []
    for y in buffer.area.y..<buffer.area.bottom {
        for x in buffer.area.x..<buffer.area.right where !area.contains(x: x, y: y) {
            if buffer[x, y].symbol != symbol { changed.append("(\(x),\(y))=\(buffer[x, y].symbol.debugDescription)") }
        }
    }
    return changed
}
