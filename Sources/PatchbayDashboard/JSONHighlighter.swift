import Foundation
import TerminalUI

/// A JSON payload pretty-printed as coloured lines: keys, strings, numbers and literals.
enum JSONHighlighter {
    static func lines(_ payload: String, theme: Theme, maxLines: Int = 2000) -> [Line] {
        let pretty = prettyPrinted(payload) ?? payload
        var out: [Line] = []
        for raw in pretty.split(separator: "\n", omittingEmptySubsequences: false).prefix(maxLines) {
            out.append(highlight(String(raw), theme: theme))
        }
        return out
    }

    static func prettyPrinted(_ text: String) -> String? {
        guard let data = text.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]),
              let pretty = try? JSONSerialization.data(
                  withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed])
        else { return nil }
        return String(decoding: pretty, as: UTF8.self)
    }

    static func highlight(_ line: String, theme: Theme) -> Line {
        var spans: [Span] = []
        var chars = Substring(line)
        while let c = chars.first {
            if c == "\"" {
                var end = chars.index(after: chars.startIndex)
                var escaped = false
                while end < chars.endIndex {
                    let ch = chars[end]
                    if escaped { escaped = false } else if ch == "\\" { escaped = true } else if ch == "\"" { break }
                    end = chars.index(after: end)
                }
                let stop = end < chars.endIndex ? chars.index(after: end) : end
                let token = String(chars[..<stop])
                let rest = chars[stop...].drop(while: { $0 == " " })
                spans.append(Span(token, rest.first == ":" ? theme.accent : theme.ok))
                chars = chars[stop...]
            } else if c.isNumber || c == "-" {
                let token = chars.prefix(while: { $0.isNumber || "+-.eE".contains($0) })
                spans.append(Span(String(token), theme.warn))
                chars = chars.dropFirst(token.count)
            } else if c.isLetter {
                let token = chars.prefix(while: { $0.isLetter })
                spans.append(Span(String(token), theme.retrying))
                chars = chars.dropFirst(token.count)
            } else {
                let token = chars.prefix(while: { $0 != "\"" && !$0.isNumber && $0 != "-" && !$0.isLetter })
                spans.append(Span(String(token), theme.muted))
                chars = chars.dropFirst(max(1, token.count))
            }
        }
        return Line(spans)
    }
}
