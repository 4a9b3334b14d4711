import CNcurses
import Foundation

/// The terminal through ncurses: the only code in Patchbay that imports it.
///
/// ncurses keeps the screen it last sent and, on `refresh`, sends only what changed; we also skip
/// cells that did not change since our previous frame, so an idle refresh costs nothing.
public final class CursesBackend: TerminalBackend {
    public private(set) var size: Size
    public let colorDepth: ColorDepth
    private var previous: Buffer?
    private var pairs: [PairKey: Int32] = [:]
    private var active = true

    private struct PairKey: Hashable {
        var foreground: Int32
        var background: Int32
    }

    /// Starts curses on the controlling terminal. `noColor` forces monochrome (`NO_COLOR`).
    public init(noColor: Bool = false, mouse: Bool = true) {
        setlocale(LC_ALL, "")
        initscr()
        raw()  // ctrl-c arrives as a key, so quitting always restores the terminal
        noecho()
        keypad(cn_stdscr(), true)
        curs_set(0)
        set_escdelay(25)
        if mouse { mousemask(cn_all_mouse_events(), nil) }
        var depth = ColorDepth.monochrome
        if !noColor && has_colors() {
            start_color()
            use_default_colors()
            let colors = cn_colors()
            depth = colors >= 256 ? .indexed256 : (colors >= 16 ? .ansi16 : (colors >= 8 ? .ansi8 : .monochrome))
        }
        colorDepth = depth
        size = Size(width: Int(cn_cols()), height: Int(cn_lines()))
    }

    deinit { restore() }

    public func restore() {
        guard active else { return }
        active = false
        endwin()
    }

    public func draw(_ buffer: Buffer) {
        let sameArea = previous?.area == buffer.area
        if !sameArea { erase() }
        let width = buffer.area.width
        for y in 0..<buffer.area.height {
            for x in 0..<width {
                let cell = buffer.cells[y * width + x]
                if sameArea, let previous, previous.cells[y * width + x] == cell { continue }
                if cell.symbol.isEmpty { continue }  // right half of a wide character
                put(cell, x: Int32(x), y: Int32(y))
            }
        }
        previous = buffer
        refresh()
    }

    private func put(_ cell: Cell, x: Int32, y: Int32) {
        var chars = cell.symbol.unicodeScalars.prefix(5).map { wchar_t(bitPattern: $0.value) }
        // Defence in depth: the buffer only holds sanitised text, but no control ever leaves here.
        chars = chars.map { $0 < 0x20 || ($0 >= 0x7F && $0 < 0xA0) ? wchar_t(0x3F) : $0 }
        chars.append(0)
        var attrs = cn_a_normal()
        let style = cell.style
        if style.bold { attrs |= cn_a_bold() }
        if style.dim { attrs |= cn_a_dim() }
        if style.underline { attrs |= cn_a_underline() }
        if style.reverse { attrs |= cn_a_reverse() }
        let pair = colorPair(style)
        _ = chars.withUnsafeBufferPointer { cn_put_cell(y, x, $0.baseAddress, attrs, pair) }
    }

    private func colorPair(_ style: Style) -> Int32 {
        guard colorDepth > .monochrome else { return 0 }
        let key = PairKey(foreground: ColorMapping.index(style.foreground, depth: colorDepth),
                          background: ColorMapping.index(style.background, depth: colorDepth))
        if key.foreground == -1 && key.background == -1 { return 0 }
        if let pair = pairs[key] { return pair }
        let pair = alloc_pair(key.foreground, key.background)
        let result = pair < 0 ? 0 : pair
        pairs[key] = result
        return result
    }

    public func nextEvent(timeoutMilliseconds: Int) -> InputEvent? {
        timeout(Int32(timeoutMilliseconds))
        var code: wint_t = 0
        let status = cn_get_key(&code)
        if status == cn_err() { return nil }
        if status == cn_key_code_yes() {
            let key = Int32(code)
            if key == cn_key_resize() {
                size = Size(width: Int(cn_cols()), height: Int(cn_lines()))
                previous = nil
                return .resize(size)
            }
            if key == cn_key_mouse() {
                var x: Int32 = 0, y: Int32 = 0
                var state: mmask_t = 0
                guard cn_mouse(&x, &y, &state) == 0 else { return nil }
                if state & cn_button4_pressed() != 0 { return .mouse(.scrollUp, x: Int(x), y: Int(y)) }
                if cn_button5_pressed() != 0 && state & cn_button5_pressed() != 0 {
                    return .mouse(.scrollDown, x: Int(x), y: Int(y))
                }
                if state & (cn_button1_pressed() | cn_button1_clicked()) != 0 {
                    return .mouse(.click, x: Int(x), y: Int(y))
                }
                return nil
            }
            return KeyMapping.functionKey(key).map { .key($0) }
        }
        return KeyMapping.character(UInt32(code)).map { .key($0) }
    }
}

/// Curses key codes and characters to `Key`s.
enum KeyMapping {
    static func functionKey(_ code: Int32) -> Key? {
        switch code {
        case KEY_UP: return .up
        case KEY_DOWN: return .down
        case KEY_LEFT: return .left
        case KEY_RIGHT: return .right
        case KEY_HOME: return .home
        case KEY_END: return .end
        case KEY_NPAGE: return .pageDown
        case KEY_PPAGE: return .pageUp
        case KEY_BACKSPACE: return .backspace
        case KEY_DC: return .delete
        case KEY_ENTER: return .enter
        case KEY_BTAB: return .backTab
        case KEY_F0 + 1...KEY_F0 + 12: return .function(Int(code - KEY_F0))
        default: return nil
        }
    }

    static func character(_ value: UInt32) -> Key? {
        switch value {
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        case 8, 127: return .backspace
        case 1...26: return .ctrl(Character(Unicode.Scalar(value + 96)!))
        default:
            guard let scalar = Unicode.Scalar(value), value >= 32 else { return nil }
            return .character(Character(scalar))
        }
    }
}

/// Theme colours to curses colour numbers for a terminal's depth.
public enum ColorMapping {
    /// -1 is the terminal's default colour.
    public static func index(_ color: Color, depth: ColorDepth) -> Int32 {
        switch color {
        case .default: return -1
        case .ansi(let n): return depth >= .ansi16 ? Int32(n & 15) : Int32(n & 7)
        case .indexed(let n):
            if depth >= .indexed256 { return Int32(n) }
            return index(.rgb(xtermRGB(n).0, xtermRGB(n).1, xtermRGB(n).2), depth: depth)
        case .rgb(let r, let g, let b):
            if depth >= .indexed256 { return Int32(nearest256(r, g, b)) }
            return Int32(nearestANSI(r, g, b, bright: depth >= .ansi16))
        }
    }

    /// The xterm 6x6x6 cube or grey ramp entry nearest to an RGB colour.
    public static func nearest256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        func level(_ v: UInt8) -> Int { v < 48 ? 0 : (v < 115 ? 1 : (Int(v) - 35) / 40) }
        let (lr, lg, lb) = (level(r), level(g), level(b))
        let cube = 16 + 36 * lr + 6 * lg + lb
        let steps = [0, 95, 135, 175, 215, 255]
        let cubeDistance = distance((steps[lr], steps[lg], steps[lb]), (Int(r), Int(g), Int(b)))
        let average = (Int(r) + Int(g) + Int(b)) / 3
        let grey = average > 238 ? 23 : max(0, (average - 3) / 10)
        let greyValue = 8 + 10 * grey
        let greyDistance = distance((greyValue, greyValue, greyValue), (Int(r), Int(g), Int(b)))
        return UInt8(greyDistance < cubeDistance ? 232 + grey : cube)
    }

    static func nearestANSI(_ r: UInt8, _ g: UInt8, _ b: UInt8, bright: Bool) -> Int {
        let palette: [(Int, Int, Int)] = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238),
                                          (205, 0, 205), (0, 205, 205), (229, 229, 229), (127, 127, 127),
                                          (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255),
                                          (255, 0, 255), (0, 255, 255), (255, 255, 255)]
        let candidates = bright ? 16 : 8
        var best = 0
        var bestDistance = Int.max
        for index in 0..<candidates {
            let d = distance(palette[index], (Int(r), Int(g), Int(b)))
            if d < bestDistance { best = index; bestDistance = d }
        }
        return best
    }

    static func xtermRGB(_ n: UInt8) -> (UInt8, UInt8, UInt8) {
        if n < 16 {
            let base: [(UInt8, UInt8, UInt8)] = [(0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238),
                                                 (205, 0, 205), (0, 205, 205), (229, 229, 229), (127, 127, 127),
                                                 (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255),
                                                 (255, 0, 255), (0, 255, 255), (255, 255, 255)]
            return base[Int(n)]
        }
        if n >= 232 { let v = UInt8(8 + 10 * (Int(n) - 232)); return (v, v, v) }
        let i = Int(n) - 16
        let steps: [UInt8] = [0, 95, 135, 175, 215, 255]
        return (steps[i / 36], steps[(i / 6) % 6], steps[i % 6])
    }

    private static func distance(_ a: (Int, Int, Int), _ b: (Int, Int, Int)) -> Int {
        let dr = a.0 - b.0, dg = a.1 - b.1, db = a.2 - b.2
        return dr * dr + dg * dg + db * db
    }
}
