import Foundation

/// An e-mail address as configured: `alerts@example.com` or `Patchbay <alerts@example.com>`.
public struct MailAddress: Sendable, Equatable {
    /// What goes in `MAIL FROM:<…>` / `RCPT TO:<…>`.
    public var address: String
    public var displayName: String?

    /// nil unless `text` is one plain ASCII address, optionally after a display name. Anything an
    /// SMTP command line or a header could be bent by (CR, LF, `<`, `>`, spaces, controls) in the
    /// address itself is refused.
    public init?(_ text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var name: String?
        var address = trimmed
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            let shown = trimmed[..<open].trimmingCharacters(in: .whitespaces)
                .trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            name = shown.isEmpty ? nil : MailHeader.clean(shown)
        }
        guard Self.isPlainAddress(address) else { return nil }
        self.address = address
        self.displayName = name
    }

    static func isPlainAddress(_ text: String) -> Bool {
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty, text.utf8.count <= 254 else { return false }
        let forbidden = Set("<>()[]\\,;:\" ".utf8)
        return text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && !forbidden.contains($0) }
    }

    /// The domain after `@`.
    public var domain: String { String(address.split(separator: "@").last ?? "") }

    /// As a header shows it: `"Patchbay" <alerts@example.com>`, the name encoded when not ASCII.
    public var header: String {
        guard let displayName, !displayName.isEmpty else { return address }
        if displayName.unicodeScalars.allSatisfy(\.isASCII) {
            let quoted = displayName.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\"\(quoted)\" <\(address)>"
        }
        return MailHeader.encodedWords(displayName).joined(separator: " ") + " <\(address)>"
    }
}

/// Header values made safe: nothing from data can end a header or start another.
public enum MailHeader {
    /// Every control character (CR and LF included), DEL, C1 and the Unicode line separators become
    /// a space; runs of spaces collapse.
    public static func clean(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var lastWasSpace = false
        for scalar in text.unicodeScalars {
            let isControl = scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
                || scalar.value == 0x2028 || scalar.value == 0x2029 || scalar.value == 0x85
            let space = isControl || scalar == " "
            if space {
                if !lastWasSpace { out.append(" ") }
                lastWasSpace = true
            } else {
                out.append(scalar)
                lastWasSpace = false
            }
        }
        return String(out).trimmingCharacters(in: .whitespaces)
    }

    /// An unstructured header value (`Subject`): cleaned, and as RFC 2047 `=?UTF-8?B?…?=` words
    /// folded onto continuation lines when it is not all ASCII.
    public static func unstructured(_ text: String) -> String {
        let cleaned = clean(text)
        if cleaned.unicodeScalars.allSatisfy(\.isASCII) { return cleaned }
        return encodedWords(cleaned).joined(separator: "\r\n ")
    }

    /// RFC 2047 encoded words of at most 75 characters, each holding whole characters.
    static func encodedWords(_ text: String) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        func flush() {
            guard !chunk.isEmpty else { return }
            words.append("=?UTF-8?B?" + Data(chunk).base64EncodedString() + "?=")
            chunk = []
        }
        // 45 bytes are 60 base64 characters: with `=?UTF-8?B?` and `?=`, 72 in all.
        for character in text {
            for piece in character.utf8.count <= 45 ? [String(character)] : character.unicodeScalars.map({ String($0) }) {
                let bytes = Array(piece.utf8)
                if chunk.count + bytes.count > 45 { flush() }
                chunk += bytes
            }
        }
        flush()
        return words
    }
}

/// One alert as an e-mail: headers and a quoted-printable UTF-8 text body, ready for `DATA`.
public struct MailMessage: Sendable, Equatable {
    public var from: MailAddress
    public var to: [MailAddress]
    public var subject: String
    public var date: Date
    public var messageId: String
    public var body: String

    public init(from: MailAddress, to: [MailAddress], subject: String, date: Date, messageId: String, body: String) {
        self.from = from
        self.to = to
        self.subject = subject
        self.date = date
        self.messageId = messageId
        self.body = body
    }

    /// The mail for a notice. `key` (the delivery's idempotency key) names the message, so a repeat
    /// after a crash carries the same `Message-ID` and a mail client can fold the two.
    public static func compose(_ notice: Notice, key: String, from: MailAddress, to: [MailAddress], subjectPrefix: String,
                               date: Date) -> MailMessage {
        let prefix = subjectPrefix.isEmpty ? "" : subjectPrefix + " "
        var subject: String
        var lines: [String] = []
        switch notice {
        case .alert(let alert):
            subject = "\(prefix)\(alert.headline): \(alert.summary)"
            lines.append(alert.headline)
            lines.append("")
            lines.append(alert.summary)
            lines.append("")
            let rows = alert.details + (alert.moneyLines.isEmpty ? [] : [("Money at risk", alert.moneyLines[0])])
            let width = (rows.map(\.label.count).max() ?? 0) + 2
            for row in rows {
                lines.append((row.label + ":").padding(toLength: width, withPad: " ", startingAt: 0) + row.value)
            }
            // One line per currency: amounts in different currencies are never added up.
            for more in alert.moneyLines.dropFirst() {
                lines.append(String(repeating: " ", count: width) + more)
            }
            if let hint = alert.hint {
                lines.append("")
                lines.append("Next step: \(hint)")
            }
            lines.append("")
            lines.append("-- ")
            let id = alert.alertId.map { "alert \($0), " } ?? ""
            lines.append("Sent by patchbay (\(id)notification \(alert.kind.rawValue)).")
        case .event(let topic, let payload):
            subject = "\(prefix)event on topic \(topic)"
            lines.append("An event on topic \(topic):")
            lines.append("")
            lines.append(String(payload.prefix(64 * 1024)))
        }
        if subject.count > 200 { subject = String(subject.prefix(199)) + "…" }
        return MailMessage(from: from, to: to, subject: subject, date: date,
                           messageId: messageId(key: key, domain: from.domain), body: lines.joined(separator: "\n"))
    }

    /// `<patchbay.KEY@DOMAIN>` with only characters a Message-ID may hold.
    static func messageId(key: String, domain: String) -> String {
        func atoms(_ text: String, limit: Int) -> String {
            String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit).map {
                ($0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.+=".unicodeScalars.contains($0))) ? $0 : "-"
            }))
        }
        let host = atoms(domain, limit: 200)
        return "<patchbay.\(atoms(key, limit: 200))@\(host.isEmpty ? "patchbay.invalid" : host)>"
    }

    /// The header block.
    public var headerLines: [String] {
        [
            "From: \(from.header)",
            "To: \(to.map(\.header).joined(separator: to.count > 3 ? ",\r\n " : ", "))",
            "Subject: \(MailHeader.unstructured(subject))",
            "Date: \(Self.rfc5322Date(date))",
            "Message-ID: \(messageId)",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: quoted-printable",
            "Auto-Submitted: auto-generated",
        ]
    }

    /// The message as `DATA` sends it: CRLF line endings, dot-stuffed, ending in `CRLF.CRLF`.
    public func dataBytes() -> [UInt8] {
        var lines = headerLines
        lines.append("")
        lines += QuotedPrintable.encode(Self.bodyText(body))
        var out: [UInt8] = []
        for line in lines {
            // Dot-stuffing (RFC 5321 4.5.2): a line that starts with "." gets one more, so no line
            // of the body can end the message early.
            if line.hasPrefix(".") { out.append(UInt8(ascii: ".")) }
            out += Array(line.utf8)
            out += [13, 10]
        }
        out += Array(".\r\n".utf8)
        return out
    }

    /// The body's lines: any line break is one, control characters other than tab are dropped.
    static func bodyText(_ text: String) -> [String] {
        let unified = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        return unified.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            String(String.UnicodeScalarView(line.unicodeScalars.filter {
                $0 == "\t" || !($0.value < 0x20 || (0x7F...0x9F).contains($0.value))
            }))
        }
    }

    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}

/// Quoted-printable (RFC 2045 6.7): 7-bit lines of at most 76 characters, so the body passes any
/// relay whether or not it offers 8BITMIME.
enum QuotedPrintable {
    static func encode(_ lines: [String]) -> [String] {
        var out: [String] = []
        let hex = Array("0123456789ABCDEF".utf8)
        for line in lines {
            let bytes = Array(line.utf8)
            var current: [UInt8] = []
            for (index, byte) in bytes.enumerated() {
                let last = index == bytes.count - 1
                var token: [UInt8]
                if (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 32 || byte == 9) && !last) {
                    token = [byte]
                } else {
                    token = [UInt8(ascii: "="), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
                }
                // 75 characters and a soft break `=` make 76.
                if current.count + token.count > 75 {
                    out.append(String(decoding: current + [UInt8(ascii: "=")], as: UTF8.self))
                    current = []
                }
                current += token
            }
            out.append(String(decoding: current, as: UTF8.self))
        }
        return out
    }
}
