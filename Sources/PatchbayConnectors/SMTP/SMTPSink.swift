import Foundation
import PatchbayHub

/// `smtp`: each alert (or any event) as a plain-text e-mail through one SMTP relay.
///
/// Plain SMTP only, without TLS: it is meant for a local relay or smarthost (Postfix on the host,
/// a relay in the same network) that takes the mail onward. A 4xx reply and a failed connection are
/// retried; a 5xx reply (a refused recipient, a refused sender, failed authentication) is dead at
/// once, because repeating it changes nothing.
public struct SMTPSink: Sink {
    public var client: SMTPClient
    public var from: MailAddress
    public var to: [MailAddress]
    public var subjectPrefix: String
    /// The password, and the AUTH PLAIN token made from it.
    public var secrets: [String]
    /// The `Date:` of a message; the clock in tests.
    var now: @Sendable () -> Date = { Date() }

    public init(client: SMTPClient, from: MailAddress, to: [MailAddress], subjectPrefix: String = "[patchbay]") {
        self.client = client
        self.from = from
        self.to = to
        self.subjectPrefix = subjectPrefix
        var secrets: [String] = []
        if let password = client.password, !password.isEmpty {
            secrets.append(password)
            let token = [0] + Array((client.username ?? "").utf8) + [0] + Array(password.utf8)
            secrets.append(Data(token).base64EncodedString())
        }
        self.secrets = secrets
    }

    public var timeout: Duration { client.timeout }

    public func message(for delivery: OutboundDelivery) -> MailMessage {
        MailMessage.compose(Notice.read(topic: delivery.topic, payload: delivery.payload), key: delivery.idempotencyKey,
                            from: from, to: to, subjectPrefix: subjectPrefix, date: now())
    }

    public func deliver(_ delivery: OutboundDelivery) async -> SinkResult {
        let data = message(for: delivery).dataBytes()
        do {
            let reply = try await client.send(from: from.address, to: to.map(\.address), data: data)
            return .success(status: nil, excerpt: reply.description)
        } catch {
            return Self.result(of: error, timeout: client.timeout)
        }
    }

    /// An SMTP failure in the retry policy's terms.
    static func result(of error: SMTPError, timeout: Duration) -> SinkResult {
        switch error {
        case .refused(let step, let reply):
            let message = "SMTP server refused \(step): \(reply)"
            return reply.code >= 500 ? .permanentError(message) : .transientError(message)
        case .connection(let message):
            return .connectionError(message)
        case .timeout:
            return .timeout(after: Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)
        case .protocolViolation(let message):
            return .transientError("SMTP: \(message)")
        case .authenticationUnavailable(let message):
            return .permanentError(message)
        }
    }
}

extension ConnectorModule {
    /// `smtp`: alerts as e-mail through a plain-SMTP relay.
    static let smtp = ConnectorModule(name: "smtp", role: .sink,
                                      summary: "mails alerts through an SMTP relay (plain SMTP, no TLS: a local relay or smarthost)") { options, context, _ in
        let host = options.string("host", required: true)
        if let host, host.isEmpty || host.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F || $0 == "/" }) {
            options.problem("host", "expected a host name or address, like localhost or relay.internal")
        }
        let port = options.int("port", in: 1...65535) ?? 25
        // `mail_from`, because a connector's `from:` names the sources it receives from.
        let fromText = options.string("mail_from", required: true)
        let from = fromText.flatMap { text in
            MailAddress(text) ?? {
                options.problem("mail_from", "expected an address like alerts@example.com or 'Patchbay <alerts@example.com>'")
                return nil
            }()
        }
        var to: [MailAddress] = []
        if let list = options.strings("to") {
            for text in list {
                if let address = MailAddress(text) { to.append(address) } else {
                    options.problem("to", "'\(text.prefix(80))' is not an address like ops@example.com")
                }
            }
            if list.isEmpty { options.problem("to", "must name at least one recipient") }
        } else {
            options.problem(nil, "missing required key 'to'")
        }
        let username = options.string("username")
        let password = options.secret("password")
        if username != nil, !options.has("password") { options.problem("username", "a username needs password: ${SMTP_PASSWORD}") }
        if options.has("password"), username == nil, !options.has("username") {
            options.problem("password", "a password needs a username")
        }
        let subjectPrefix = MailHeader.clean(options.string("subject_prefix") ?? "[patchbay]")
        let timeout = options.duration("timeout", in: 0.1...600) ?? 30
        let helo = options.string("helo") ?? defaultHeloName()
        if !isHeloName(helo) {
            options.problem("helo", "expected a host name like hub.example.com (letters, digits, dots and hyphens)")
        }
        guard let host, let from, !to.isEmpty, isHeloName(helo),
              username == nil || password != nil else { return nil }
        let client = SMTPClient(host: host, port: port, helo: helo, username: username, password: password,
                                timeout: .milliseconds(Int64(timeout * 1000)))
        return .sink(SMTPSink(client: client, from: from, to: to, subjectPrefix: subjectPrefix))
    }

    static func isHeloName(_ name: String) -> Bool {
        if name.hasPrefix("["), name.hasSuffix("]"), name.count > 2 {
            return name.dropFirst().dropLast().unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isASCIIHexDigit || ".:".unicodeScalars.contains($0)) }
        }
        return !name.isEmpty && name.count <= 253 && name.unicodeScalars.allSatisfy {
            $0.isASCII && (CharacterSet.alphanumerics.contains($0) || $0 == "." || $0 == "-")
        }
    }

    /// This machine's name when it is a usable EHLO name; else `localhost`.
    static func defaultHeloName() -> String {
        let name = ProcessInfo.processInfo.hostName
        return isHeloName(name) ? name : "localhost"
    }
}
