// libFuzzer target: `SafeText.line` and `SafeText.multiline`.
//
// The input is decoded twice: as UTF-8 with replacement (what a payload or header becomes), and as
// a sequence of 21-bit scalars (3 bytes each, invalid values skipped), so that every scalar, C1 and
// bidi controls included, is reachable in a few mutations. Checked, for both strings:
//
// - `line(x)` holds no scalar a terminal acts on: none for which `SafeText.needsEscape` is true, no
//   tab or newline, and none of the list below, written out independently of `needsEscape`;
// - `multiline(x)` the same, except that `\n` stays (and nothing else of C0);
// - both are idempotent, and a clean text (`isClean`) comes back unchanged from `line`.
import Foundation
import FuzzSupport
import PatchbayText

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        FileHandle.standardError.write(Data("FuzzSafeText: \(message())\n".utf8))
        abort()
    }
}

/// What a terminal acts on, or what reorders or breaks a line (README: "every byte of untrusted
/// text is made inert"). Kept apart from `SafeText.needsEscape` so that a regression there shows.
private func dangerous(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x00...0x1F, 0x7F: return true  // C0 (ESC 0x1B, BEL, BS, CR, LF, TAB), DEL
    case 0x80...0x9F: return true  // C1: CSI 0x9B, OSC 0x9D, DCS 0x90, NEL 0x85, ST 0x9C
    case 0x200E, 0x200F: return true  // LRM, RLM
    case 0x202A...0x202E: return true  // LRE, RLE, PDF, LRO, RLO (U+202E)
    case 0x2066...0x2069: return true  // LRI, RLI, FSI, PDI
    case 0x2028, 0x2029: return true  // line and paragraph separators
    case 0x061C: return true  // Arabic letter mark
    case 0xFFF9...0xFFFB: return true  // interlinear annotations
    default: return false
    }
}

/// Scalars `SafeText` escapes alone but keeps inside an emoji sequence: a zero-width joiner between
/// two emoji (👩‍💻) and the tag characters of a subdivision flag. `needsEscape` judges a scalar out of
/// context, so for these the output is checked against `dangerous` only.
private func keptInContext(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value == 0x200D || (0xE0020...0xE007F).contains(scalar.value)
}

private func describe(_ text: String) -> String {
    text.unicodeScalars.prefix(80).map { String($0.value, radix: 16) }.joined(separator: " ")
}

private func checkText(_ text: String) {
    let line = SafeText.line(text)
    for scalar in line.unicodeScalars {
        check(!dangerous(scalar) && (keptInContext(scalar) || !SafeText.needsEscape(scalar)),
              "line() let U+\(String(scalar.value, radix: 16)) through; input scalars: \(describe(text))")
    }
    check(SafeText.isClean(line), "line() output is not clean: \(describe(line))")
    check(SafeText.line(line) == line, "line() is not idempotent on \(describe(text))")
    if SafeText.isClean(text) { check(line == text, "line() changed a clean text: \(describe(text))") }
    // Nothing is dropped: every input scalar leaves a trace (an escape is at least 2 scalars long).
    check(line.unicodeScalars.count >= text.unicodeScalars.count, "line() lost scalars of \(describe(text))")

    let multi = SafeText.multiline(text)
    for scalar in multi.unicodeScalars where scalar != "\n" {
        check(!dangerous(scalar) && (keptInContext(scalar) || !SafeText.needsEscape(scalar)),
              "multiline() let U+\(String(scalar.value, radix: 16)) through; input scalars: \(describe(text))")
    }
    check(SafeText.multiline(multi) == multi, "multiline() is not idempotent on \(describe(text))")
    check(multi.unicodeScalars.filter { $0 == "\n" }.count == text.unicodeScalars.filter { $0 == "\n" }.count,
          "multiline() changed the number of lines of \(describe(text))")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    checkText(String(decoding: bytes, as: UTF8.self))

    var scalars = String.UnicodeScalarView()
    var index = 0
    while index + 3 <= size {
        let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
        if let scalar = Unicode.Scalar(value & 0x1F_FFFF) { scalars.append(scalar) }
        index += 3
    }
    checkText(String(scalars))
    return 0
}

// MARK: - Entry point

// The `main` SwiftPM links this executable with (`--defsym main=FuzzSafeText_main`): see FuzzSupport.
@_cdecl("FuzzSafeText_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv)
}
