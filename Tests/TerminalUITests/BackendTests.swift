import Testing
@testable import TerminalUI

@Suite("TestBackend: an in-memory terminal")
struct TestBackendTests {
    @Test("records every frame drawn, in order")
    func recordsFrames() {
        let backend = TestBackend(width: 20, height: 5)
        #expect(backend.size == Size(width: 20, height: 5))
        #expect(backend.colorDepth == .indexed256)
        #expect(backend.frames.isEmpty && backend.lastFrame == nil)
        for text in ["first", "second"] {
            var buffer = Buffer(width: backend.size.width, height: backend.size.height)
            buffer.write(text, x: 0, y: 0)
            backend.draw(buffer)
        }
        #expect(backend.frames.count == 2)
        #expect(backend.frames[0].lines()[0] == "first" + repeated(" ", 15))
        #expect(backend.lastFrame?.text == "second\n\n\n\n")
    }

    @Test("replays scripted events in order, then reports none")
    func replaysEvents() {
        let backend = TestBackend(width: 10, height: 3, colorDepth: .ansi8)
        #expect(backend.colorDepth == .ansi8)
        let script: [InputEvent] = [.key(.character("j")), .key(.ctrl("r")), .mouse(.click, x: 2, y: 1),
                                    .resize(Size(width: 20, height: 5)), .key(.escape)]
        backend.pending = script
        var seen: [InputEvent] = []
        while let event = backend.nextEvent(timeoutMilliseconds: 0) { seen.append(event) }
        #expect(seen == script)
        #expect(backend.nextEvent(timeoutMilliseconds: 100) == nil)
    }

    @Test("restore is recorded")
    func restore() {
        let backend = TestBackend(width: 1, height: 1)
        #expect(!backend.restored)
        backend.restore()
        #expect(backend.restored)
    }

    @Test("works through the backend protocol")
    func throughProtocol() {
        let backend: any TerminalBackend = TestBackend(width: 4, height: 1)
        var buffer = Buffer(width: backend.size.width, height: backend.size.height)
        Gauge(ratio: 1, label: "ok", style: .plain).render(in: buffer.area, into: &buffer)
        backend.draw(buffer)
        #expect((backend as? TestBackend)?.lastFrame?.lines() == [" ok "])
    }

    @Test("colour depths are ordered")
    func colorDepthOrder() {
        #expect(ColorDepth.monochrome < .ansi8)
        #expect(ColorDepth.ansi8 < .ansi16)
        #expect(ColorDepth.ansi16 < .indexed256)
        #expect(ColorDepth.indexed256 < .trueColor)
    }
}

@Suite("ColorMapping: theme colours to curses colour numbers")
struct ColorMappingTests {
    @Test("pure colours map to the corners of the 6x6x6 cube", arguments: [
        ((255, 0, 0), 196), ((0, 255, 0), 46), ((0, 0, 255), 21), ((255, 255, 0), 226),
        ((0, 255, 255), 51), ((255, 0, 255), 201), ((0, 0, 0), 16), ((255, 255, 255), 231),
        ((95, 135, 175), 67), ((215, 95, 0), 166),
    ] as [((UInt8, UInt8, UInt8), UInt8)])
    func pureColors(rgb: (UInt8, UInt8, UInt8), expected: UInt8) {
        #expect(ColorMapping.nearest256(rgb.0, rgb.1, rgb.2) == expected)
    }

    @Test("greys map to the grey ramp", arguments: [
        ((8, 8, 8), 232), ((18, 18, 18), 233), ((128, 128, 128), 244), ((100, 100, 100), 241),
        ((238, 238, 238), 255), ((12, 12, 12), 232),
    ] as [((UInt8, UInt8, UInt8), UInt8)])
    func greys(rgb: (UInt8, UInt8, UInt8), expected: UInt8) {
        #expect(ColorMapping.nearest256(rgb.0, rgb.1, rgb.2) == expected)
    }

    @Test("every cube and ramp colour maps back to an entry with the same RGB")
    func roundTrip() {
        for n in 16...255 {
            let (r, g, b) = ColorMapping.xtermRGB(UInt8(n))
            let back = ColorMapping.nearest256(r, g, b)
            let same = ColorMapping.xtermRGB(back) == (r, g, b)
            #expect(same, "\(n) -> \(back)")
        }
    }

    @Test("the default colour is -1 at every depth", arguments: [ColorDepth.monochrome, .ansi8, .ansi16, .indexed256, .trueColor])
    func defaultColor(depth: ColorDepth) {
        #expect(ColorMapping.index(.default, depth: depth) == -1)
    }

    @Test("ANSI colours keep their number, bright ones fold to normal with 8 colours")
    func ansi() {
        #expect(ColorMapping.index(.ansi(9), depth: .indexed256) == 9)
        #expect(ColorMapping.index(.ansi(9), depth: .ansi16) == 9)
        #expect(ColorMapping.index(.ansi(9), depth: .ansi8) == 1)
        #expect(ColorMapping.index(.ansi(4), depth: .ansi8) == 4)
    }

    @Test("indexed colours pass through at 256 and degrade to 16 and 8")
    func indexed() {
        #expect(ColorMapping.index(.indexed(196), depth: .indexed256) == 196)
        #expect(ColorMapping.index(.indexed(196), depth: .ansi16) == 9)     // pure red: bright red
        #expect(ColorMapping.index(.indexed(196), depth: .ansi8) == 1)      // red
        #expect(ColorMapping.index(.indexed(12), depth: .ansi16) == 12)     // a low index is its own ANSI colour
        #expect(ColorMapping.index(.indexed(12), depth: .ansi8) == 4)       // bright blue: blue
        #expect(ColorMapping.index(.indexed(232), depth: .ansi16) == 0)     // darkest grey: black
        #expect(ColorMapping.index(.indexed(231), depth: .ansi16) == 15)    // white: bright white
        #expect(ColorMapping.index(.indexed(231), depth: .ansi8) == 7)
    }

    @Test("RGB colours map to the nearest of 256, 16 or 8")
    func rgb() {
        #expect(ColorMapping.index(.rgb(255, 0, 0), depth: .trueColor) == 196)
        #expect(ColorMapping.index(.rgb(255, 0, 0), depth: .indexed256) == 196)
        #expect(ColorMapping.index(.rgb(255, 0, 0), depth: .ansi16) == 9)
        #expect(ColorMapping.index(.rgb(255, 0, 0), depth: .ansi8) == 1)
        #expect(ColorMapping.index(.rgb(0, 200, 0), depth: .ansi8) == 2)
        #expect(ColorMapping.index(.rgb(250, 250, 250), depth: .ansi16) == 15)
        #expect(ColorMapping.index(.rgb(250, 250, 250), depth: .ansi8) == 7)
        #expect(ColorMapping.index(.rgb(10, 10, 10), depth: .ansi8) == 0)
        #expect(ColorMapping.index(.rgb(120, 120, 120), depth: .ansi16) == 8)
    }

    @Test("degraded colours stay in range", arguments: [ColorDepth.ansi8, .ansi16])
    func inRange(depth: ColorDepth) {
        let limit: Int32 = depth == .ansi8 ? 8 : 16
        for n in 0...255 {
            let index = ColorMapping.index(.indexed(UInt8(n)), depth: depth)
            #expect(index >= 0 && index < limit, "indexed \(n) -> \(index)")
        }
        for v in stride(from: 0, through: 255, by: 51) {
            let index = ColorMapping.index(.rgb(UInt8(v), UInt8(255 - v), UInt8(v / 2)), depth: depth)
            #expect(index >= 0 && index < limit)
        }
    }
}

@Suite("KeyMapping: curses codes to keys")
struct KeyMappingTests {
    @Test("control codes", arguments: [
        (9, Key.tab), (13, .enter), (10, .enter), (27, .escape), (127, .backspace), (8, .backspace),
        (18, .ctrl("r")), (1, .ctrl("a")), (3, .ctrl("c")), (21, .ctrl("u")), (26, .ctrl("z")),
    ] as [(UInt32, Key)])
    func controls(code: UInt32, key: Key) {
        #expect(KeyMapping.character(code) == key)
    }

    @Test("printable characters", arguments: [
        (97, Key.character("a")),
        (32, .character(" ")), (63, .character("?")), (58, .character(":")), (47, .character("/")),
        (0x6F22, .character("漢")), (0xE9, .character("é")), (0x1F600, .character("😀")),
    ] as [(UInt32, Key)])
    func printable(code: UInt32, key: Key) {
        #expect(KeyMapping.character(code) == key)
    }

    @Test("codes that are not keys", arguments: [0, 28, 31, 0xD800, 0x110000] as [UInt32])
    func notKeys(code: UInt32) {
        #expect(KeyMapping.character(code) == nil)
    }

    // ncurses' key codes, fixed by its ABI: KEY_DOWN 0o402 ... KEY_END 0o550.
    @Test("function keys", arguments: [
        (258, Key.down), (259, .up), (260, .left), (261, .right), (262, .home), (263, .backspace),
        (265, .function(1)), (276, .function(12)), (330, .delete), (338, .pageDown), (339, .pageUp),
        (343, .enter), (353, .backTab), (360, .end),
    ] as [(Int32, Key)])
    func functionKeys(code: Int32, key: Key) {
        #expect(KeyMapping.functionKey(code) == key)
    }

    @Test("unknown function keys and F13 are ignored", arguments: [0, 264, 277, 999] as [Int32])
    func unknownFunctionKeys(code: Int32) {
        #expect(KeyMapping.functionKey(code) == nil)
    }
}
