/// Makes untrusted text safe to show on a terminal.
///
/// Payloads, error bodies and names come from systems we do not control. Before any of it reaches a
/// terminal, every scalar that a terminal could act on is replaced by a visible escape: C0 controls
/// and DEL in caret notation (`^[` for ESC, `^?` for DEL), C1 controls, bidi overrides and isolates,
/// and line/paragraph separators as `\u{…}`. What is left cannot move the cursor, set a title,
/// write the clipboard or reorder the line.
public enum SafeText {
    /// Sanitises `text` for one line of output: newlines and tabs are escaped too.
    public static func line(_ text: String) -> String {
        sanitize(text, keepNewlines: false)
    }

    /// Sanitises `text` keeping `\n` as a line break (for pretty-printed payloads); `\t` becomes spaces.
    public static func multiline(_ text: String) -> String {
        sanitize(text, keepNewlines: true)
    }

    /// True when `line(text)` would change nothing.
    public static func isClean(_ text: String) -> Bool {
        !text.unicodeScalars.contains { needsEscape($0) || $0 == "\n" || $0 == "\t" }
    }

    public static func sanitize(_ text: String, keepNewlines: Bool) -> String {
        if !text.unicodeScalars.contains(where: { needsEscape($0) || $0 == "\t" || (!keepNewlines && $0 == "\n") }) {
            return text
        }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x0A where keepNewlines:
                out.append(scalar)
            case 0x09:
                out.append(contentsOf: keepNewlines ? "    ".unicodeScalars : " ".unicodeScalars)
            case 0x00...0x1F:
                out.append("^")
                out.append(Unicode.Scalar(UInt8(scalar.value + 0x40)))
            case 0x7F:
                out.append(contentsOf: "^?".unicodeScalars)
            case _ where needsEscape(scalar):
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
            default:
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Scalars a terminal may act on, or that reorder or break the line.
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x08, 0x0A...0x1F, 0x7F: return true  // C0 (tab handled apart), DEL
        case 0x80...0x9F: return true  // C1, including CSI 0x9B, OSC 0x9D, DCS 0x90
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true  // bidi marks, overrides, isolates
        case 0x2028, 0x2029: return true  // line and paragraph separators
        case 0x061C: return true  // Arabic letter mark
        case 0xFFF9...0xFFFB: return true  // interlinear annotation controls
        default: return false
        }
    }
}
