import Foundation

/// The payload of an alert (or of any other event) as a Slack incoming-webhook message:
/// `{"text": …, "blocks": […]}`, plus `channel` and `username` when configured (legacy webhooks
/// honour them; app webhooks post where they were created and ignore them).
///
/// `text` is the whole message on its own (notifications and clients without blocks show only
/// it); the blocks lay the same facts out. Text from the payload is escaped for Slack's mrkdwn
/// (`&`, `<`, `>`), so a summary cannot ping `<!channel>` or forge a link, and cut to Slack's limits.
public struct SlackMessageTransform: PayloadTransform {
    public var channel: String?
    public var username: String?

    public init(channel: String? = nil, username: String? = nil) {
        self.channel = channel
        self.username = username
    }

    public func apply(topic: String, payload: String) throws(TransformError) -> (topic: String, payload: String) {
        (topic, message(for: Notice.read(topic: topic, payload: payload)).serialized())
    }

    public func message(for notice: Notice) -> JSONValue {
        var members: [String: JSONValue]
        switch notice {
        case .alert(let alert): members = Self.alertMessage(alert)
        case .event(let topic, let payload): members = Self.eventMessage(topic: topic, payload: payload)
        }
        if let channel { members["channel"] = .string(channel) }
        if let username { members["username"] = .string(username) }
        return .object(members)
    }

    static func alertMessage(_ alert: AlertNotice) -> [String: JSONValue] {
        let emoji = alert.kind == .resolved ? ":large_green_circle:" : ":rotating_light:"
        let headline = escape(alert.headline, limit: 200)
        let summary = escape(alert.summary, limit: 1800)
        var text = "\(emoji) \(headline) — \(summary)"
        if !alert.moneyLines.isEmpty {
            text += "\nMoney at risk: " + alert.moneyLines.map { escape($0, limit: 60) }.joined(separator: ", ")
        }
        if let hint = alert.hint { text += "\nNext: " + code(hint) }

        var blocks: [JSONValue] = [section("\(emoji) *\(headline)*\n\(summary)")]
        var fields = alert.details.map { mrkdwn("*\($0.label)*\n\(escape($0.value, limit: 300))") }
        if !alert.moneyLines.isEmpty {
            // One line per currency: amounts in different currencies are never added up.
            fields.append(mrkdwn("*Money at risk*\n" + alert.moneyLines.prefix(20).map { escape($0, limit: 60) }.joined(separator: "\n")))
        }
        if !fields.isEmpty {
            blocks.append(.object(["type": .string("section"), "fields": .array(Array(fields.prefix(10)))]))
        }
        if let hint = alert.hint {
            blocks.append(.object(["type": .string("context"), "elements": .array([mrkdwn("Next: " + code(hint))])]))
        }
        return ["text": .string(text), "blocks": .array(blocks)]
    }

    static func eventMessage(topic: String, payload: String) -> [String: JSONValue] {
        let title = ":information_source: patchbay event on topic *\(escape(topic, limit: 100))*"
        let body = "```" + escape(payload.replacingOccurrences(of: "```", with: "'''"), limit: 2500) + "```"
        return ["text": .string(title + "\n" + body), "blocks": .array([section(title + "\n" + body)])]
    }

    static func section(_ text: String) -> JSONValue {
        .object(["type": .string("section"), "text": mrkdwn(text)])
    }

    static func mrkdwn(_ text: String) -> JSONValue {
        .object(["type": .string("mrkdwn"), "text": .string(text)])
    }

    /// Inline code: backticks inside would end it early, so they go.
    static func code(_ text: String) -> String {
        "`" + escape(text.replacingOccurrences(of: "`", with: "'"), limit: 300) + "`"
    }

    /// Slack's three control characters escaped, control characters dropped, cut to `limit` characters.
    static func escape(_ text: String, limit: Int) -> String {
        var cut = text.count > limit ? String(text.prefix(limit - 1)) + "…" : text
        cut = String(String.UnicodeScalarView(cut.unicodeScalars.filter {
            $0 == "\n" || !($0.value < 0x20 || (0x7F...0x9F).contains($0.value))
        }))
        return cut.replacingOccurrences(of: "&", with: "&amp;")
            .replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}

/// Slack's incoming-webhook errors: a 4xx with a bare code for a body (`no_service`,
/// `invalid_payload`). The code alone does not tell an operator what to do; this does.
public enum SlackResponse {
    static let meanings: [String: String] = [
        "invalid_payload": "Slack refused the message as malformed",
        "no_service": "the webhook was disabled or removed: create a new incoming webhook and update url",
        "no_active_hooks": "the webhook was disabled or removed: create a new incoming webhook and update url",
        "no_team": "the Slack workspace is gone or the webhook URL is wrong",
        "team_disabled": "the Slack workspace is disabled",
        "invalid_token": "the webhook URL's token is not valid: create a new incoming webhook and update url",
        "channel_not_found": "the webhook's channel no longer exists",
        "channel_is_archived": "the webhook's channel is archived",
        "action_prohibited": "a Slack admin restricted posting to this channel",
        "posting_to_general_channel_denied": "only admins may post to this channel",
        "user_not_found": "the channel option names a user Slack does not know",
        "too_many_attachments": "the message has too many attachments",
    ]

    /// `no_service: the webhook was disabled or removed: …`, or nil for a body that is not one code.
    public static func errorMessage(status: Int, body: [UInt8]) -> String? {
        let code = String(decoding: body.prefix(200), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !code.isEmpty, code.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }) else { return nil }
        return meanings[code].map { "\(code): \($0)" } ?? code
    }
}
