import Foundation

/// Normalises an error text so that failures of one kind group together.
///
/// Ids (UUIDs, long hex, numbers), quoted values, e-mail addresses, URLs' query strings and times are
/// replaced by placeholders; an HTTP status code at the start is kept, so
/// `HTTP 429: Too Many Requests (retry in 27 s)` and `HTTP 429: Too Many Requests (retry in 3 s)` are
/// one group, while a 503 is another.
public enum ErrorSignature {
    public static func of(_ message: String, maxLength: Int = 200) -> String {
        var text = Substring(message.prefix(2000))
        var prefix = ""
        if text.hasPrefix("HTTP ") {
            // A bare "HTTP 429" has no character after the status: the status runs to the end.
            let end = text.dropFirst(5).firstIndex(where: { !$0.isNumber }) ?? text.endIndex
            prefix = String(text[..<end])
            text = text[end...]
        }
        var out = ""
        out.reserveCapacity(text.count)
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.first {
            if c == "'" || c == "\"" || c == "`" {
                // A quoted value: keep the quotes, drop what they hold.
                if let close = chars.dropFirst().firstIndex(of: c), close - chars.startIndex <= 200 {
                    out += "\(c)…\(c)"
                    chars = chars[(close + 1)...]
                    continue
                }
            }
            if isWordChar(c) {
                let word = chars.prefix(while: isWordChar)
                chars = chars.dropFirst(word.count)
                out += normalise(String(String.UnicodeScalarView(word)))
                continue
            }
            out.unicodeScalars.append(c)
            chars = chars.dropFirst()
        }
        let collapsed = out.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
        return String((prefix + collapsed).prefix(maxLength))
    }

    private static func isWordChar(_ c: Unicode.Scalar) -> Bool {
        CharacterSet.alphanumerics.contains(c) || c == "-" || c == "_" || c == "@" || c == "." || c == ":"
    }

    private static func normalise(_ word: String) -> String {
        let trimmed = word.trimmingCharacters(in: CharacterSet(charactersIn: ".:-"))
        let suffix = word.hasSuffix(".") || word.hasSuffix(":") ? String(word.last!) : ""
        if trimmed.isEmpty { return word }
        if trimmed.contains("@") && trimmed.contains(".") { return "<email>" + suffix }
        let digits = trimmed.filter(\.isNumber).count
        if digits == 0 { return word }
        let hexish = trimmed.allSatisfy { $0.isHexDigit || $0 == "-" }
        if hexish && trimmed.count >= 8 { return "<id>" + suffix }
        if trimmed.allSatisfy({ $0.isNumber || $0 == "." || $0 == "," || $0 == ":" || $0 == "-" }) {
            return "#" + suffix
        }
        // Mixed letters and digits (INV-1043, SHP-1042, order_9921): an identifier.
        return "<id>" + suffix
    }
}
