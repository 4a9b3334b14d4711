import Foundation

extension ConnectorModule {
    /// `slack`: alerts (or any event) posted to a Slack incoming webhook.
    ///
    /// It is the `http` sink with a Slack message for a body: the same transport, so redirects are
    /// refused and never count as delivered, the same classes (404 `no_service` and other 4xx dead
    /// at once, 429 after `Retry-After`, 5xx retried). The webhook URL is itself the credential:
    /// it must come from the environment and is redacted from every stored result.
    static let slack = ConnectorModule(name: "slack", role: .sink,
                                       summary: "posts alerts to a Slack incoming webhook") { options, context, _ in
        let raw = options.string("url", required: true)
        var url: String?
        var secrets: [String] = []
        if let raw {
            if !raw.contains("${") {
                // Quoting the value would print the credential: say what to do instead.
                options.problem("url", "the webhook URL is a credential: reference an environment variable, like ${SLACK_WEBHOOK_URL}")
            } else if let resolved = options.interpolated(raw, key: "url") {
                url = resolved
                secrets = slackSecrets(url: resolved, referenced: options.referencedValues(raw))
                let parsed = URL(string: resolved)
                if parsed == nil || !["http", "https"].contains(parsed?.scheme?.lowercased() ?? "") || parsed?.host == nil {
                    options.problem("url", "expected an https:// URL like https://hooks.slack.com/services/…; the value of \(OptionReader.referencedNames(raw).joined(separator: ", ")) is not one")
                    url = nil
                }
            }
        }
        let channel = options.string("channel")
        let username = options.string("username")
        let timeout = options.duration("timeout", in: 0.1...600) ?? 10
        guard let url else { return nil }
        return .sink(HTTPSink(url: url, timeout: .milliseconds(Int64(timeout * 1000)),
                              transform: SlackMessageTransform(channel: channel, username: username),
                              describeError: { status, body in SlackResponse.errorMessage(status: status, body: body) },
                              secrets: secrets, transport: context.transport ?? context.deferredTransport))
    }

    /// The whole URL, its path (`/services/T…/B…/…`), its last segment (the token) and every value
    /// the configuration referenced: any of them in an error text would give the webhook away.
    static func slackSecrets(url: String, referenced: [String]) -> [String] {
        var secrets = [url] + referenced
        if let components = URLComponents(string: url) {
            if components.path.count >= 8 { secrets.append(components.path) }
            if let last = components.path.split(separator: "/").last, last.count >= 8 { secrets.append(String(last)) }
            if let query = components.query, query.count >= 8 { secrets.append(query) }
        }
        return secrets.uniqued()
    }
}
