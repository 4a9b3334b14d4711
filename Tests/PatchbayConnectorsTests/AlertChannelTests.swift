import Foundation
import PatchbayHub
import Testing
import TestSupport
@testable import PatchbayConnectors

/// The alert channels: what a Slack message and an e-mail say about an alert, that a signed generic
/// webhook verifies with the hub's own verifier, and that the configuration keeps credentials out
/// of files and messages.
@Suite("Alert channels: Slack messages, signed webhooks, channel configuration")
struct AlertChannelTests {
    static let firing = """
        {"type":"alert","alert_id":12,"rule":"erp-failing","kind":"connector_failing","state":"firing","notification":"fired",
         "subject":"erp","summary":"erp has been failing for 12m: HTTP 503 Service Unavailable",
         "value":"12m","threshold":"10m","fired_at":"2026-12-03T09:00:00Z","resolved_at":null,
         "money_at_risk":[{"currency":"EUR","amount":"12480.00"},{"currency":"USD","amount":"300.00"}],
         "hint":"patchbay failed --connector erp"}
        """

    static func delivery(_ payload: String, topic: String = "alert", key: String = "alert-12-fired") -> OutboundDelivery {
        OutboundDelivery(deliveryId: 5, eventId: 9, topic: topic, payload: payload, idempotencyKey: key, attempt: 1)
    }

    static func parse(_ yaml: String, env: [String: String] = [:]) throws -> HubConfig {
        try HubConfig.parse(yaml: yaml, file: "patchbay.yaml",
                            context: ModuleContext(environment: env, baseDirectory: URL(fileURLWithPath: "/tmp"), transport: nil))
    }

    static func problems(_ yaml: String, env: [String: String] = [:]) -> [ConfigProblem] {
        do {
            _ = try parse(yaml, env: env)
            Issue.record("the configuration was accepted")
            return []
        } catch let error as ConfigError {
            return error.problems
        } catch {
            Issue.record("unexpected \(error)")
            return []
        }
    }

    static func sink(_ config: HubConfig, _ name: String) throws -> any Sink {
        let definition = try #require(config.connectors.first { $0.name == name })
        guard case .sink(let sink) = definition.built else {
            Issue.record("\(name) is not a sink")
            throw CancellationError()
        }
        return sink
    }

    static func slackJSON(_ payload: String, topic: String = "alert") throws -> JSONValue {
        try JSONValue.parse(SlackMessageTransform().apply(topic: topic, payload: payload).payload)
    }

    // MARK: - Slack messages

    @Test("a firing alert in Slack: headline, summary, money per currency (never summed) and the next command")
    func slackFiringMessage() throws {
        let message = try Self.slackJSON(Self.firing)
        let text = try #require(message["text"]?.stringValue)
        #expect(text.hasPrefix(":rotating_light: FIRING erp-failing — erp has been failing for 12m: HTTP 503 Service Unavailable"))
        #expect(text.contains("EUR 12480.00") && text.contains("USD 300.00"))
        #expect(!text.contains("12780"))
        #expect(text.contains("`patchbay failed --connector erp`"))
        let blocks = try #require(message["blocks"]?.arrayValue)
        let all = blocks.map { $0.serialized() }.joined()
        #expect(all.contains("*Money at risk*\\nEUR 12480.00\\nUSD 300.00"), "\(all)")
        #expect(all.contains("12m (threshold 10m)"))
        #expect(all.contains("2026-12-03T09:00:00Z"))
        #expect(message["channel"] == nil)
    }

    @Test("a repeat says it is still firing; a resolution is green and says RESOLVED")
    func slackRepeatAndResolved() throws {
        let repeated = Self.firing.replacingOccurrences(of: #""notification":"fired""#, with: #""notification":"repeat""#)
        #expect(try Self.slackJSON(repeated)["text"]?.stringValue?.hasPrefix(":rotating_light: FIRING erp-failing (still firing) — ") == true)
        let resolved = Self.firing.replacingOccurrences(of: #""state":"firing","notification":"fired""#,
                                                        with: #""state":"resolved","notification":"resolved""#)
            .replacingOccurrences(of: #""resolved_at":null"#, with: #""resolved_at":"2026-12-03T09:40:00Z""#)
        let text = try #require(try Self.slackJSON(resolved)["text"]?.stringValue)
        #expect(text.hasPrefix(":large_green_circle: RESOLVED erp-failing — "))
        #expect(try Self.slackJSON(resolved).serialized().contains("2026-12-03T09:40:00Z"))
    }

    @Test("text from the payload cannot ping the channel or forge a link in Slack")
    func slackEscapesMrkdwn() throws {
        let payload = #"{"type":"alert","rule":"r","state":"firing","summary":"<!channel> see <https://evil.example|docs> & pay"}"#
        let message = try Self.slackJSON(payload)
        let text = try #require(message["text"]?.stringValue)
        #expect(!text.contains("<!channel>") && !text.contains("<https://"))
        #expect(text.contains("&lt;!channel&gt; see &lt;https://evil.example|docs&gt; &amp; pay"))
    }

    @Test("a payload that is not an alert still reaches Slack, as the topic and the payload")
    func slackGenericFallback() throws {
        let order = try Self.slackJSON(#"{"order":"SF-1","total":"18.50"}"#, topic: "order_created")
        let text = try #require(order["text"]?.stringValue)
        #expect(text.contains("topic *order_created*") && text.contains(#"{"order":"SF-1","total":"18.50"}"#))
        let garbage = try Self.slackJSON("not json at all ```", topic: "alert")
        #expect(garbage["text"]?.stringValue?.contains("not json at all") == true)
        // Missing fields are left out, not shown as "nil".
        let sparse = try Self.slackJSON(#"{"type":"alert","rule":"queue-aging"}"#)
        #expect(sparse["text"]?.stringValue == ":rotating_light: FIRING queue-aging — (no summary)")
    }

    @Test("Slack's bare error codes become messages an operator can act on")
    func slackErrorCodes() {
        #expect(SlackResponse.errorMessage(status: 404, body: Array("no_service".utf8))?.hasPrefix("no_service: the webhook was disabled or removed") == true)
        #expect(SlackResponse.errorMessage(status: 400, body: Array("invalid_payload\n".utf8)) == "invalid_payload: Slack refused the message as malformed")
        #expect(SlackResponse.errorMessage(status: 400, body: Array("something_new".utf8)) == "something_new")
        #expect(SlackResponse.errorMessage(status: 500, body: Array("<html>oops</html>".utf8)) == nil)
    }

    // MARK: - Slack configuration

    @Test("the Slack webhook URL comes from the environment and every part of it is a secret of the sink")
    func slackURLIsASecret() throws {
        let url = "https://hooks.slack.com/services/T000AAAA/B000BBBB/XXXXXXXXXXXXXXXXXXXXXXXX"
        let config = try Self.parse("""
            connectors:
              ops-slack: {module: slack, url: "${SLACK_WEBHOOK_URL}", channel: "#ops", username: patchbay, timeout: 5s, subscribe: [alert]}
            """, env: ["SLACK_WEBHOOK_URL": url])
        let sink = try #require(try Self.sink(config, "ops-slack") as? HTTPSink)
        #expect(sink.url == url)
        #expect(sink.timeout == .seconds(5))
        #expect(sink.secrets.contains(url))
        #expect(sink.secrets.contains("XXXXXXXXXXXXXXXXXXXXXXXX"))
        #expect(sink.secrets.contains("/services/T000AAAA/B000BBBB/XXXXXXXXXXXXXXXXXXXXXXXX"))
        let body = try JSONValue.parse(sink.request(for: Self.delivery(Self.firing)).body)
        #expect(body["channel"]?.stringValue == "#ops" && body["username"]?.stringValue == "patchbay")

        let inline = Self.problems("""
            connectors:
              ops-slack: {module: slack, url: "\(url)", subscribe: [alert]}
            """)
        #expect(inline.contains { $0.path == "connectors.ops-slack.url" && $0.message.contains("${SLACK_WEBHOOK_URL}") })
        #expect(!inline.description.contains("XXXXXXXX"), "\(inline)")
        let notHTTP = Self.problems("""
            connectors:
              ops-slack: {module: slack, url: "${SLACK_WEBHOOK_URL}", subscribe: [alert]}
            """, env: ["SLACK_WEBHOOK_URL": "ftp://hooks.slack.com/services/T/B/SECRETSECRET"])
        #expect(notHTTP.contains { $0.path == "connectors.ops-slack.url" })
        #expect(!notHTTP.description.contains("SECRETSECRET"), "\(notHTTP)")
    }

    // MARK: - Standard Webhooks signing on the http sink

    static let vectors: JSONValue = {
        let data = (try? Fixtures.data("webhooks/signature-vectors.json")) ?? Data()
        return (try? JSONValue.parse(Array(data))) ?? .null
    }()

    @Test("a signed http delivery verifies with the hub's own Standard Webhooks verifier; a tampered body does not")
    func signedWebhookRoundTrip() throws {
        let vector = try #require(Self.vectors["standard_webhooks"])
        let secret = try #require(vector["secret"]?.stringValue)
        let config = try Self.parse("""
            connectors:
              ledger: {module: http, url: "https://ledger.example/hooks", signing: standard-webhooks, secret: "${WEBHOOK_SECRET}", subscribe: [alert]}
            """, env: ["WEBHOOK_SECRET": secret])
        let sink = try #require(try Self.sink(config, "ledger") as? HTTPSink)
        #expect(sink.secrets.contains(secret))
        let now = Date(timeIntervalSince1970: 1_795_611_248)
        let request = try sink.request(for: Self.delivery(Self.firing, key: "patchbay-delivery-5"), now: now)
        #expect(request.headers["webhook-id"] == "patchbay-delivery-5")
        #expect(request.headers["webhook-timestamp"] == "1795611248")
        #expect(request.headers["webhook-signature"]?.hasPrefix("v1,") == true)

        let verifier = WebhookVerifier(scheme: .standardWebhooks, secrets: [secret])
        let inbound = InboundRequest(path: "/hooks", headers: request.headers.map { ($0.key, $0.value) }, body: request.body)
        try verifier.verify(inbound, now: now)

        var tampered = inbound
        tampered.body = Array(String(decoding: request.body, as: UTF8.self).replacingOccurrences(of: "12480.00", with: "1.00").utf8)
        #expect(tampered.body != inbound.body)
        #expect(throws: Rejection.self) { try verifier.verify(tampered, now: now) }
        // Signed with another key: refused too.
        let other = WebhookVerifier(scheme: .standardWebhooks, secrets: ["whsec_" + Data(repeating: 7, count: 32).base64EncodedString()])
        #expect(throws: Rejection.self) { try other.verify(inbound, now: now) }
    }

    @Test("the signer reproduces the shared fixture's vector and the one Standard Webhooks publishes")
    func signerMatchesPublishedVectors() throws {
        let vector = try #require(Self.vectors["standard_webhooks"])
        let secret = try #require(vector["secret"]?.stringValue)
        let id = try #require(vector["webhook-id"]?.stringValue)
        let timestamp = try #require(vector["webhook-timestamp"]?.stringValue.flatMap { Int64($0) })
        let body = try #require(vector["body"]?.stringValue)
        let signer = try #require(StandardWebhooksSigner(secret: secret))
        let signature = signer.signature(id: id, timestamp: timestamp, body: Array(body.utf8))
        #expect(signature == vector["expected"]?.stringValue)
        // The example of the specification's reference libraries (standard-webhooks, Svix).
        let published = try #require(StandardWebhooksSigner(secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        #expect(published.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330,
                                    body: Array(#"{"test": 2432232314}"#.utf8)) == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        // The base64 alone is the same key, as the webhook source reads it.
        let bare = try #require(StandardWebhooksSigner(secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        #expect(bare.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8))
            == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(!"\(published)".contains("MfKQ9r8G"))
    }

    @Test("signing needs a secret from the environment that is a Standard Webhooks key; a secret alone is refused")
    func signingConfiguration() {
        let base = "connectors:\n  ledger: {module: http, url: \"https://ledger.example/hooks\", subscribe: [alert], "
        #expect(Self.problems(base + "signing: standard-webhooks}").contains { $0.message.contains("needs a secret") })
        let inline = Self.problems(base + "signing: standard-webhooks, secret: whsec_c2VjcmV0c2VjcmV0}")
        #expect(inline.contains { $0.path == "connectors.ledger.secret" })
        #expect(!inline.description.contains("c2VjcmV0c2VjcmV0"))
        let bad = Self.problems(base + "signing: standard-webhooks, secret: \"${S}\"}", env: ["S": "whsec_not base64!"])
        #expect(bad.contains { $0.path == "connectors.ledger.secret" && $0.message.contains("whsec_") })
        #expect(!bad.description.contains("not base64!"))
        #expect(Self.problems(base + "signing: hmac, secret: \"${S}\"}", env: ["S": "whsec_c2VjcmV0"]).contains { $0.path == "connectors.ledger.signing" })
        #expect(Self.problems(base + "secret: \"${S}\"}", env: ["S": "whsec_c2VjcmV0"]).contains { $0.message.contains("signing: standard-webhooks") })
    }
}
