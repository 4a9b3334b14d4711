/// A key or other input, as the dashboard sees it, whatever terminal it came from.
public enum Key: Equatable, Hashable, Sendable {
    case character(Character)
    /// Ctrl + a letter (`ctrl(r)` is `.ctrl("r")`).
    case ctrl(Character)
    case enter, escape, tab, backTab, backspace, delete
    case up, down, left, right, home, end, pageUp, pageDown
    case function(Int)
}

public enum MouseAction: Equatable, Sendable {
    case click, scrollUp, scrollDown
}

public enum InputEvent: Equatable, Sendable {
    case key(Key)
    case mouse(MouseAction, x: Int, y: Int)
    case resize(Size)
}

/// What the terminal can show; themes degrade to it.
public enum ColorDepth: Int, Comparable, Sendable {
    case monochrome = 0, ansi8 = 8, ansi16 = 16, indexed256 = 256, trueColor = 16_777_216

    public static func < (lhs: ColorDepth, rhs: ColorDepth) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where frames go and input comes from. The curses backend is the only one that touches a terminal.
public protocol TerminalBackend: AnyObject {
    var size: Size { get }
    var colorDepth: ColorDepth { get }
    /// Shows `buffer`, sending only the cells that differ from the last frame.
    func draw(_ buffer: Buffer)
    /// The next input, or nil after `timeoutMilliseconds` with none.
    func nextEvent(timeoutMilliseconds: Int) -> InputEvent?
    /// Gives the terminal back as it was.
    func restore()
}

/// An in-memory terminal for tests: frames are kept, input is scripted.
public final class TestBackend: TerminalBackend {
    public var size: Size
    public var colorDepth: ColorDepth
    public private(set) var frames: [Buffer] = []
    public var pending: [InputEvent] = []
    public private(set) var restored = false

    public init(width: Int, height: Int, colorDepth: ColorDepth = .indexed256) {
        size = Size(width: width, height: height)
        self.colorDepth = colorDepth
    }

    public var lastFrame: Buffer? { frames.last }

    public func draw(_ buffer: Buffer) { frames.append(buffer) }

    public func nextEvent(timeoutMilliseconds: Int) -> InputEvent? {
        pending.isEmpty ? nil : pending.removeFirst()
    }

    public func restore() { restored = true }
}
