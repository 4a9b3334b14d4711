/// Makes untrusted text safe to show on a terminal.
///
/// Payloads, error bodies and names come from systems we do not control. Before any of it reaches a
/// terminal, every scalar that a terminal could act on, or that a reader cannot see, is replaced by a
/// visible escape: C0 controls and DEL in caret notation (`^[` for ESC, `^?` for DEL); C1 controls,
/// bidi marks, overrides and isolates, line/paragraph separators, zero-width and other invisible
/// format characters, the soft hyphen and tag characters as `\u{…}`. What is left cannot move the
/// cursor, set a title, write the clipboard, reorder the line, or hide text between two letters that
/// look the same.
///
/// One exception keeps emoji whole: a zero-width joiner between two emoji (👩‍👩‍👧) and the tag
/// characters of a subdivision flag (🏴 + `gbsct` + cancel tag) are part of one visible glyph, so
/// they pass through. The same character anywhere else is escaped.
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
        line(text) == text
    }

    public static func sanitize(_ text: String, keepNewlines: Bool) -> String {
        if !text.unicodeScalars.contains(where: { needsEscape($0) || $0 == "\t" }) {
            return text
        }
        var out = String.UnicodeScalarView()
        for character in text {
            let glue = isEmojiSequence(character)
            for scalar in character.unicodeScalars {
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
                case _ where needsEscape(scalar) && !(glue && isEmojiGlue(scalar)):
                    out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16, uppercase: true))}".unicodeScalars)
                default:
                    out.append(scalar)
                }
            }
        }
        return String(out)
    }

    /// Scalars a terminal may act on, that reorder or break the line, or that cannot be seen.
    ///
    /// ZWJ and tag characters are listed too: `sanitize` lets them through only as the glue inside
    /// an emoji (see `isEmojiSequence`).
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x08, 0x0A...0x1F, 0x7F: return true  // C0 (tab handled apart), DEL
        case 0x80...0x9F: return true  // C1, including CSI 0x9B, OSC 0x9D, DCS 0x90
        case 0x00AD: return true  // soft hyphen: invisible unless the line breaks there
        case 0x061C: return true  // Arabic letter mark
        case 0x200B...0x200F: return true  // zero-width space, non-joiner, joiner; LRM, RLM
        case 0x2028, 0x2029: return true  // line and paragraph separators
        case 0x202A...0x202E, 0x2066...0x2069: return true  // bidi embeddings, overrides, isolates
        case 0x2060...0x2065, 0x206A...0x206F: return true  // word joiner, invisible operators, deprecated format controls
        case 0xFEFF: return true  // zero-width no-break space (a BOM inside text)
        case 0xFFF9...0xFFFB: return true  // interlinear annotation controls
        case 0xE0000...0xE007F: return true  // tag characters: invisible ASCII
        default: return false
        }
    }

    /// A field of CSV (RFC 4180) that is safe on a terminal and in a spreadsheet.
    ///
    /// Scalars `needsEscape` flags are written as JSON-style `\uXXXX` escapes (surrogate pairs above
    /// U+FFFF): visible and inert in a text column, and a column that holds JSON (the file sink's
    /// payload) stays valid JSON that decodes to the original, since such scalars can only sit
    /// inside a JSON string. Tabs stay. Line breaks stay inside a quoted field when `keepLineBreaks`
    /// (files read by loaders, where a multi-line note is data); otherwise they are escaped, so what
    /// a person sees on a terminal is one row per line. A field a spreadsheet would run as a formula
    /// (starting with `=`, `+`, `-`, `@`, their full-width forms, tab or CR, also after leading
    /// spaces) gets a leading `'`, unless it is a plain number such as `-12.50`. The field is quoted
    /// when it holds a comma, a quote or a line break.
    public static func csvField(_ text: String, keepLineBreaks: Bool = false) -> String {
        var body = String.UnicodeScalarView()
        var needsQuotes = false
        for character in text {
            let glue = isEmojiSequence(character)
            for scalar in character.unicodeScalars {
                switch scalar {
                case "\t":
                    body.append(scalar)
                case "\n" where keepLineBreaks, "\r" where keepLineBreaks:
                    body.append(scalar)
                    needsQuotes = true
                case "\"":
                    body.append(contentsOf: "\"\"".unicodeScalars)
                    needsQuotes = true
                case ",":
                    body.append(scalar)
                    needsQuotes = true
                case _ where needsEscape(scalar) && !(glue && isEmojiGlue(scalar)):
                    for unit in String(scalar).utf16 {
                        body.append(contentsOf: "\\u".unicodeScalars)
                        let hex = String(unit, radix: 16, uppercase: true)
                        body.append(contentsOf: (String(repeating: "0", count: 4 - hex.count) + hex).unicodeScalars)
                    }
                default:
                    body.append(scalar)
                }
            }
        }
        let field = (startsFormula(text) && !isPlainNumber(text) ? "'" : "") + String(body)
        return needsQuotes ? "\"" + field + "\"" : field
    }

    /// True when a spreadsheet could read `text` as a formula (OWASP's list, plus full-width forms
    /// and leading spaces, which some spreadsheets skip).
    static func startsFormula(_ text: String) -> Bool {
        let scalars = text.unicodeScalars
        if let first = scalars.first, first == "\t" || first == "\r" { return true }
        guard let lead = scalars.first(where: { $0 != " " && $0 != "\t" && $0 != "\r" && $0 != "\n" }) else { return false }
        switch lead {
        case "=", "+", "-", "@", "\u{FF1D}", "\u{FF0B}", "\u{FF0D}", "\u{FF20}": return true
        default: return false
        }
    }

    /// `12`, `-12.50`, `+3`: an amount a spreadsheet should keep as a number. Nothing else, not
    /// even `1e5` or `-inf`, which some spreadsheets evaluate.
    static func isPlainNumber(_ text: String) -> Bool {
        var scalars = Array(text.unicodeScalars)[...]
        if let sign = scalars.first, sign == "-" || sign == "+" { scalars = scalars.dropFirst() }
        let parts = scalars.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        return (1...2).contains(parts.count)
            && parts.allSatisfy { part in !part.isEmpty && part.allSatisfy { ("0"..."9").contains($0) } }
    }

    /// True for the invisible scalars that hold an emoji sequence together.
    static func isEmojiGlue(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value == 0x200D || (0xE0020...0xE007F).contains(scalar.value)
    }

    /// True when `character` is an emoji ZWJ sequence (every ZWJ between two emoji) or a subdivision
    /// flag (🏴, 1 to 7 tag letters or digits, the cancel tag), so its glue is part of what is seen.
    static func isEmojiSequence(_ character: Character) -> Bool {
        let scalars = Array(character.unicodeScalars)
        guard scalars.count > 1, isPictographic(scalars[0]) else { return false }
        if scalars[0].value == 0x1F3F4, scalars.last?.value == 0xE007F {
            let spec = scalars.dropFirst().dropLast()
            return (1...7).contains(spec.count) && spec.allSatisfy {
                (0xE0030...0xE0039).contains($0.value) || (0xE0061...0xE007A).contains($0.value)
            }
        }
        for (index, scalar) in scalars.enumerated() {
            if (0xE0000...0xE007F).contains(scalar.value) { return false }
            guard scalar.value == 0x200D else { continue }
            guard index + 1 < scalars.count, isPictographic(scalars[index + 1]) else { return false }
            let before = scalars[index - 1]
            guard isPictographic(before) || before.properties.isEmojiModifier || before.value == 0xFE0F else { return false }
        }
        return true
    }

    private static func isPictographic(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value > 0x7F && scalar.properties.isEmoji
    }
}
