import Crypto
import Foundation
@testable import PatchbayConnectors
import Testing
import TestSupport

@Suite struct WebhookSignatureTests {
    // MARK: - Fixtures and helpers (static members, so names cannot clash with other test files)

    struct Vectors: Decodable {
        struct Shopify: Decodable {
            var secret: String
            var body_file: String
            var header: String
            var expected: String
        }
        struct GitHub: Decodable {
            var secret: String
            var body: String
            var header: String
            var expected: String
        }
        struct StandardWebhooks: Decodable {
            var secret: String
            var id: String
            var timestamp: String
            var body: String
            var header: String
            var expected: String
            enum CodingKeys: String, CodingKey {
                case secret, body, header, expected
                case id = "webhook-id"
                case timestamp = "webhook-timestamp"
            }
        }
        var shopify: Shopify
        var github: GitHub
        var standard_webhooks: StandardWebhooks
    }

    static func vectors() throws -> Vectors {
        try JSONDecoder().decode(Vectors.self, from: Fixtures.data("webhooks/signature-vectors.json"))
    }

    /// `Name: value` lines, as in `shopify/orders-create.headers`.
    static func headers(_ relativePath: String) throws -> [(name: String, value: String)] {
        let text = String(decoding: try Fixtures.data(relativePath), as: UTF8.self)
        var headers: [(name: String, value: String)] = []
        for line: Substring in text.split(whereSeparator: \.isNewline) {
            guard let colon: String.Index = line.firstIndex(of: ":") else { continue }
            let name: Substring = line[..<colon]
            let value: Substring = line[line.index(after: colon)...]
            headers.append((String(name).trimmingCharacters(in: .whitespaces),
                            String(value).trimmingCharacters(in: .whitespaces)))
        }
        return headers
    }

    static func request(_ headers: [(name: String, value: String)], body: [UInt8]) -> InboundRequest {
        InboundRequest(path: "/webhooks/test", headers: headers, body: body)
    }

    static func request(_ headers: [(name: String, value: String)], body: String) -> InboundRequest {
        request(headers, body: Array(body.utf8))
    }

    /// An independent HMAC, computed here rather than through the verifier.
    static func hmacHex(_ key: String, _ message: String) -> String {
        HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: Array(key.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    static func rejection(_ verifier: WebhookVerifier, _ request: InboundRequest, now: Date) -> Rejection? {
        do {
            try verifier.verify(request, now: now)
            return nil
        } catch {
            return error
        }
    }

    static let epoch = Date(timeIntervalSince1970: 0)

    // MARK: - Shopify

    @Test func shopifyFixtureVerifiesWithItsRecordedHeaders() throws {
        let v = try Self.vectors().shopify
        let body = Array(try Fixtures.data(v.body_file))
        let headers = try Self.headers("shopify/orders-create.headers")
        #expect(headers.first(where: { $0.name == v.header })?.value == v.expected)
        let verifier = WebhookVerifier(scheme: .shopify, secrets: [v.secret])
        #expect(Self.rejection(verifier, Self.request(headers, body: body), now: .now) == nil)
    }

    @Test func shopifyOneChangedByteFails() throws {
        let v = try Self.vectors().shopify
        var body = Array(try Fixtures.data(v.body_file))
        body[body.count / 2] ^= 0x01
        let verifier = WebhookVerifier(scheme: .shopify, secrets: [v.secret])
        let rejection = Self.rejection(verifier, Self.request([(v.header, v.expected)], body: body), now: .now)
        #expect(rejection == .unauthorized("header X-Shopify-Hmac-Sha256: no signature matched (1 secret tried)"))
    }

    @Test func shopifyWrongSecretFails() throws {
        let v = try Self.vectors().shopify
        let body = Array(try Fixtures.data(v.body_file))
        let verifier = WebhookVerifier(scheme: .shopify, secrets: ["not-the-secret"])
        #expect(Self.rejection(verifier, Self.request([(v.header, v.expected)], body: body), now: .now)?.status == 401)
    }

    @Test func shopifyHeaderNameIsCaseInsensitive() throws {
        let v = try Self.vectors().shopify
        let body = Array(try Fixtures.data(v.body_file))
        let verifier = WebhookVerifier(scheme: .shopify, secrets: [v.secret])
        let request = Self.request([("x-shopify-hmac-sha256", v.expected)], body: body)
        #expect(Self.rejection(verifier, request, now: .now) == nil)
    }

    @Test func shopifyRejectionsNameTheHeader() {
        let verifier = WebhookVerifier(scheme: .shopify, secrets: ["s"])
        let cases: [([(name: String, value: String)], String)] = [
            ([], "missing header X-Shopify-Hmac-Sha256"),
            ([("X-Shopify-Hmac-Sha256", "")], "header X-Shopify-Hmac-Sha256 is empty"),
            ([("X-Shopify-Hmac-Sha256", "not base64!")], "header X-Shopify-Hmac-Sha256 is not base64"),
            ([("X-Shopify-Hmac-Sha256", "AAAA")], "header X-Shopify-Hmac-Sha256 holds 3 bytes; an HMAC-SHA256 is 32"),
        ]
        for (headers, reason) in cases {
            #expect(Self.rejection(verifier, Self.request(headers, body: "{}"), now: .now) == .unauthorized(reason))
        }
    }

    // MARK: - GitHub

    @Test func githubVectorVerifies() throws {
        let v = try Self.vectors().github
        let verifier = WebhookVerifier(scheme: .github, secrets: [v.secret])
        #expect(Self.rejection(verifier, Self.request([(v.header, v.expected)], body: v.body), now: .now) == nil)
        // Uppercase hex decodes to the same bytes.
        let upper = "sha256=" + v.expected.dropFirst(7).uppercased()
        #expect(Self.rejection(verifier, Self.request([(v.header, upper)], body: v.body), now: .now) == nil)
    }

    @Test func githubChangedBodyFails() throws {
        let v = try Self.vectors().github
        let verifier = WebhookVerifier(scheme: .github, secrets: [v.secret])
        let rejection = Self.rejection(verifier, Self.request([(v.header, v.expected)], body: v.body + " "), now: .now)
        #expect(rejection == .unauthorized("header X-Hub-Signature-256: no signature matched (1 secret tried)"))
    }

    @Test func githubRejectionsNameTheHeader() throws {
        let v = try Self.vectors().github
        let verifier = WebhookVerifier(scheme: .github, secrets: [v.secret])
        let hex = String(v.expected.dropFirst(7))
        let cases: [(String?, String)] = [
            (nil, "missing header X-Hub-Signature-256"),
            (hex, "header X-Hub-Signature-256 does not start with \"sha256=\""),
            ("sha1=" + hex, "header X-Hub-Signature-256 does not start with \"sha256=\""),
            ("sha256=" + hex.dropLast(), "header X-Hub-Signature-256 is not hex after \"sha256=\""),
            ("sha256=zz" + hex.dropFirst(2), "header X-Hub-Signature-256 is not hex after \"sha256=\""),
            ("sha256=" + hex.dropLast(2), "header X-Hub-Signature-256 holds 31 bytes; an HMAC-SHA256 is 32"),
            ("sha256=", "header X-Hub-Signature-256 holds 0 bytes; an HMAC-SHA256 is 32"),
        ]
        for (value, reason) in cases {
            let headers = value.map { [(name: v.header, value: $0)] } ?? []
            let rejection = Self.rejection(verifier, Self.request(headers, body: v.body), now: .now)
            #expect(rejection == .unauthorized(reason), "header value \(value ?? "nil")")
        }
    }

    // MARK: - Stripe

    static let stripeSecret = "whsec_test_0123456789abcdefghijklmn"
    static let stripeBody = #"{"id":"evt_1QxYz","type":"payment_intent.succeeded","data":{"object":{"amount":8800}}}"#
    static let stripeTime = 1_795_611_248

    static func stripeRequest(_ header: String?) -> InboundRequest {
        request(header.map { [("Stripe-Signature", $0)] } ?? [], body: stripeBody)
    }

    static var stripeNow: Date { Date(timeIntervalSince1970: TimeInterval(stripeTime)) }

    @Test func stripeSignatureComputedIndependentlyVerifies() {
        let signature = Self.hmacHex(Self.stripeSecret, "\(Self.stripeTime).\(Self.stripeBody)")
        let verifier = WebhookVerifier(scheme: .stripe, secrets: [Self.stripeSecret])
        let header = "t=\(Self.stripeTime),v1=\(signature),v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
        #expect(Self.rejection(verifier, Self.stripeRequest(header), now: Self.stripeNow) == nil)
        // A signature over the body alone (no "t.") is not Stripe's and must not pass.
        let bodyOnly = Self.hmacHex(Self.stripeSecret, Self.stripeBody)
        #expect(Self.rejection(verifier, Self.stripeRequest("t=\(Self.stripeTime),v1=\(bodyOnly)"), now: Self.stripeNow)
            == .unauthorized("header Stripe-Signature: no signature matched (1 secret tried)"))
    }

    @Test func stripeAnyOfSeveralV1Passes() {
        let good = Self.hmacHex(Self.stripeSecret, "\(Self.stripeTime).\(Self.stripeBody)")
        let other = Self.hmacHex("whsec_other", "\(Self.stripeTime).\(Self.stripeBody)")
        let verifier = WebhookVerifier(scheme: .stripe, secrets: [Self.stripeSecret])
        let header = "t=\(Self.stripeTime),v1=\(other),v1=\(good)"
        #expect(Self.rejection(verifier, Self.stripeRequest(header), now: Self.stripeNow) == nil)
        // A malformed v1 beside the good one is skipped, not fatal.
        #expect(Self.rejection(verifier, Self.stripeRequest("t=\(Self.stripeTime),v1=xyz,v1=\(good)"),
                               now: Self.stripeNow) == nil)
    }

    @Test func stripeToleranceIsEnforcedBothWays() {
        let signature = Self.hmacHex(Self.stripeSecret, "\(Self.stripeTime).\(Self.stripeBody)")
        let header = "t=\(Self.stripeTime),v1=\(signature)"
        let verifier = WebhookVerifier(scheme: .stripe, secrets: [Self.stripeSecret], tolerance: 300)
        let base = TimeInterval(Self.stripeTime)
        #expect(Self.rejection(verifier, Self.stripeRequest(header), now: Date(timeIntervalSince1970: base + 300)) == nil)
        #expect(Self.rejection(verifier, Self.stripeRequest(header), now: Date(timeIntervalSince1970: base - 300)) == nil)
        #expect(Self.rejection(verifier, Self.stripeRequest(header), now: Date(timeIntervalSince1970: base + 412))
            == .unauthorized("header Stripe-Signature: timestamp 1795611248 is 412 s from now (tolerance 300 s)"))
        #expect(Self.rejection(verifier, Self.stripeRequest(header), now: Date(timeIntervalSince1970: base - 301))
            == .unauthorized("header Stripe-Signature: timestamp 1795611248 is 301 s from now (tolerance 300 s)"))
    }

    @Test func stripeMalformedHeadersAreRejectedWithReasons() {
        let verifier = WebhookVerifier(scheme: .stripe, secrets: [Self.stripeSecret])
        let t = Self.stripeTime
        let hex64 = String(repeating: "ab", count: 32)
        let cases: [(String?, String)] = [
            (nil, "missing header Stripe-Signature"),
            ("", "header Stripe-Signature is empty"),
            ("v1=\(hex64)", "header Stripe-Signature has no t= timestamp"),
            ("t=,v1=\(hex64)", "header Stripe-Signature has a t= that is not a Unix timestamp in seconds"),
            ("t=abc,v1=\(hex64)", "header Stripe-Signature has a t= that is not a Unix timestamp in seconds"),
            ("t=-5,v1=\(hex64)", "header Stripe-Signature has a t= that is not a Unix timestamp in seconds"),
            ("t=99999999999999999999999999,v1=\(hex64)",
             "header Stripe-Signature has a t= that is not a Unix timestamp in seconds"),
            ("t=\(t),t=\(t),v1=\(hex64)", "header Stripe-Signature has more than one t="),
            ("t=\(t)", "header Stripe-Signature has no v1= signature"),
            ("t=\(t),v0=\(hex64)", "header Stripe-Signature has no v1= signature"),
            ("t=\(t),v1=", "header Stripe-Signature has no v1= value of 64 hex digits"),
            ("t=\(t),v1=\(hex64.dropLast(2))", "header Stripe-Signature has no v1= value of 64 hex digits"),
            ("t=\(t),v1=\(hex64)", "header Stripe-Signature: no signature matched (1 secret tried)"),
            (",,,=,t", "header Stripe-Signature has no t= timestamp"),
        ]
        for (header, reason) in cases {
            let rejection = Self.rejection(verifier, Self.stripeRequest(header), now: Self.stripeNow)
            #expect(rejection == .unauthorized(reason), "header \(header ?? "nil")")
        }
    }

    // MARK: - Standard Webhooks

    static func standardRequest(_ v: Vectors.StandardWebhooks, signature: String?, timestamp: String? = nil)
        -> InboundRequest {
        var headers: [(name: String, value: String)] = [("webhook-id", v.id), ("webhook-timestamp", timestamp ?? v.timestamp)]
        if let signature { headers.append(("webhook-signature", signature)) }
        return request(headers, body: v.body)
    }

    static func near(_ v: Vectors.StandardWebhooks, _ offset: TimeInterval = 17) -> Date {
        Date(timeIntervalSince1970: TimeInterval(Int(v.timestamp)!) + offset)
    }

    @Test func standardWebhooksVectorVerifies() throws {
        let v = try Self.vectors().standard_webhooks
        let verifier = WebhookVerifier(scheme: .standardWebhooks, secrets: [v.secret])
        #expect(Self.rejection(verifier, Self.standardRequest(v, signature: v.expected), now: Self.near(v)) == nil)
    }

    @Test func standardWebhooksSecondOfSeveralSignaturesPasses() throws {
        let v = try Self.vectors().standard_webhooks
        let verifier = WebhookVerifier(scheme: .standardWebhooks, secrets: [v.secret])
        let wrong = "v1," + Data(repeating: 7, count: 32).base64EncodedString()
        let header = "\(wrong) v2,ignored \(v.expected)"
        #expect(Self.rejection(verifier, Self.standardRequest(v, signature: header), now: Self.near(v)) == nil)
        // The wrong one alone fails: the pass above came from the second entry.
        #expect(Self.rejection(verifier, Self.standardRequest(v, signature: wrong), now: Self.near(v))
            == .unauthorized("header webhook-signature: no signature matched (1 secret tried)"))
    }

    @Test func standardWebhooksStaleOrFutureTimestampFails() throws {
        let v = try Self.vectors().standard_webhooks
        let verifier = WebhookVerifier(scheme: .standardWebhooks, secrets: [v.secret])
        #expect(Self.rejection(verifier, Self.standardRequest(v, signature: v.expected), now: Self.near(v, 412))
            == .unauthorized("header webhook-timestamp: timestamp 1795611248 is 412 s from now (tolerance 300 s)"))
        #expect(Self.rejection(verifier, Self.standardRequest(v, signature: v.expected), now: Self.near(v, -3600))
            == .unauthorized("header webhook-timestamp: timestamp 1795611248 is 3600 s from now (tolerance 300 s)"))
    }

    @Test func standardWebhooksSignsIdAndTimestampToo() throws {
        let v = try Self.vectors().standard_webhooks
        let verifier = WebhookVerifier(scheme: .standardWebhooks, secrets: [v.secret])
        // Same body and signature, timestamp moved by one second: the signature no longer matches.
        let moved = String(Int(v.timestamp)! + 1)
        #expect(Self.rejection(verifier, Self.standardRequest(v, signature: v.expected, timestamp: moved),
                               now: Self.near(v))?.reason == "header webhook-signature: no signature matched (1 secret tried)")
    }

    @Test func standardWebhooksRejectionsNameTheHeader() throws {
        let v = try Self.vectors().standard_webhooks
        let verifier = WebhookVerifier(scheme: .standardWebhooks, secrets: [v.secret])
        let now = Self.near(v)
        let full: [(name: String, value: String)] = [("webhook-id", v.id), ("webhook-timestamp", v.timestamp),
                                                     ("webhook-signature", v.expected)]
        for missing in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
            let request = Self.request(full.filter { $0.name != missing }, body: v.body)
            #expect(Self.rejection(verifier, request, now: now) == .unauthorized("missing header \(missing)"))
        }
        let cases: [(String, String, String)] = [
            ("webhook-timestamp", "17956112.48", "header webhook-timestamp is not a Unix timestamp in seconds"),
            ("webhook-timestamp", " 1795611248", "header webhook-timestamp is not a Unix timestamp in seconds"),
            ("webhook-signature", "v2,abc", "header webhook-signature has no v1 signature"),
            ("webhook-signature", "v1;abc", "header webhook-signature has no v1 signature"),
            ("webhook-signature", "v1,not*base64", "header webhook-signature has no v1 signature that is 32 bytes of base64"),
            ("webhook-signature", "v1,AAAA", "header webhook-signature has no v1 signature that is 32 bytes of base64"),
        ]
        for (name, value, reason) in cases {
            let headers = full.map { $0.name == name ? (name: name, value: value) : $0 }
            #expect(Self.rejection(verifier, Self.request(headers, body: v.body), now: now) == .unauthorized(reason))
        }
    }

    @Test func standardWebhooksSecretWithoutPrefixOrPaddingStillWorks() throws {
        let v = try Self.vectors().standard_webhooks
        let bare = String(v.secret.dropFirst("whsec_".count))
        let verifier = WebhookVerifier(scheme: .standardWebhooks, secrets: [bare])
        #expect(Self.rejection(verifier, Self.standardRequest(v, signature: v.expected), now: Self.near(v)) == nil)
    }

    @Test func standardWebhooksUnusableSecretIsReportedWithoutItsValue() throws {
        let v = try Self.vectors().standard_webhooks
        let verifier = WebhookVerifier(scheme: .standardWebhooks, secrets: ["whsec_@@@not-base64@@@"])
        let rejection = Self.rejection(verifier, Self.standardRequest(v, signature: v.expected), now: Self.near(v))
        #expect(rejection == .unauthorized(
            "header webhook-signature cannot be checked: no configured secret is base64 after \"whsec_\""))
        #expect(rejection?.reason.contains("@@@") == false)
        // One bad secret beside a good one: the good one is used and the bad one counted.
        let mixed = WebhookVerifier(scheme: .standardWebhooks, secrets: ["whsec_@@@", v.secret])
        #expect(Self.rejection(mixed, Self.standardRequest(v, signature: v.expected), now: Self.near(v)) == nil)
        let wrong = "v1," + Data(repeating: 1, count: 32).base64EncodedString()
        #expect(Self.rejection(mixed, Self.standardRequest(v, signature: wrong), now: Self.near(v))?.reason
            == "header webhook-signature: no signature matched (1 secret tried; 1 secret skipped, not base64 after \"whsec_\")")
    }

    // MARK: - Rotation, none, secrecy

    @Test func rotationAcceptsEitherSecret() throws {
        let v = try Self.vectors().github
        let request = Self.request([(v.header, v.expected)], body: v.body)
        for secrets in [[v.secret, "new-secret"], ["new-secret", v.secret]] {
            #expect(Self.rejection(WebhookVerifier(scheme: .github, secrets: secrets), request, now: .now) == nil)
        }
        let neither = WebhookVerifier(scheme: .github, secrets: ["old", "new"])
        #expect(Self.rejection(neither, request, now: .now)
            == .unauthorized("header X-Hub-Signature-256: no signature matched (2 secrets tried)"))
    }

    @Test func noSecretConfiguredFailsClosed() throws {
        let v = try Self.vectors().github
        let verifier = WebhookVerifier(scheme: .github, secrets: [])
        let rejection = Self.rejection(verifier, Self.request([(v.header, v.expected)], body: v.body), now: .now)
        #expect(rejection?.status == 401)
        #expect(rejection?.reason.contains("no secret") == true)
    }

    @Test func schemeNoneAcceptsAnything() {
        let verifier = WebhookVerifier(scheme: .none, secrets: [])
        #expect(Self.rejection(verifier, Self.request([], body: [0xFF]), now: Self.epoch) == nil)
    }

    @Test func reasonsAndDescriptionsNeverContainSecretsOrExpectedSignatures() throws {
        let v = try Self.vectors().github
        let verifier = WebhookVerifier(scheme: .github, secrets: [v.secret])
        let rejection = Self.rejection(verifier, Self.request([(v.header, "sha256=" + String(repeating: "0", count: 64))],
                                                              body: v.body), now: .now)
        let reason = try #require(rejection).reason
        #expect(!reason.contains(v.secret))
        #expect(!reason.contains(String(v.expected.dropFirst(7))))
        for text in [String(describing: verifier), String(reflecting: verifier), { var s = ""; dump(verifier, to: &s); return s }()] {
            #expect(!text.contains(v.secret), "\(text)")
        }
    }

    @Test func schemeNamesAreTheConfigurationNames() {
        #expect(WebhookSignatureScheme.allCases.map(\.rawValue) == ["shopify", "github", "stripe", "standard-webhooks", "none"])
    }

    // MARK: - Hostile input

    @Test func hostileHeaderValuesNeverCrashAndAlwaysRejectWith401() {
        let huge = String(repeating: "v1=", count: 100_000)
        let values = [
            "", " ", ",", "=", "t=", "t==", "t=,", "v1=,t=", "t=1e9,v1=00", "t=٣٤٥,v1=00", "t=\u{0}",
            "t=9223372036854775807,v1=00", "t=18446744073709551616,v1=00", "t=00000000000000000000000000001",
            "sha256=", "sha256=\u{1F600}\u{1F600}", "v1,", "v1, v1,,", "v1,====", "\u{301}v1,abc",
            "t=1\u{301},v1=ab", String(repeating: "é", count: 5000), huge, "sha256=" + huge,
            "\r\n\t", "\u{FEFF}t=1", "v1,\u{0}",
        ]
        let names = ["X-Shopify-Hmac-Sha256", "X-Hub-Signature-256", "Stripe-Signature",
                     "webhook-id", "webhook-timestamp", "webhook-signature"]
        for scheme in WebhookSignatureScheme.allCases where scheme != .none {
            let verifier = WebhookVerifier(scheme: scheme, secrets: ["whsec_c2VjcmV0", "\u{0}\u{1F600}"])
            for value in values {
                let headers = names.map { (name: $0, value: value) }
                for now in [Self.epoch, .now, .distantFuture, .distantPast] {
                    let rejection = Self.rejection(verifier, Self.request(headers, body: [0xFF, 0x00]), now: now)
                    #expect(rejection?.status == 401, "\(scheme) \(value.prefix(40))")
                }
            }
        }
    }

    // MARK: - Byte helpers

    @Test func constantTimeEqualNeedsSameLengthAndEveryByte() {
        let expected = [UInt8](0..<32)
        #expect(WebhookBytes.constantTimeEqual(expected, expected))
        #expect(!WebhookBytes.constantTimeEqual(Array(expected.prefix(31)), expected))  // a prefix
        #expect(!WebhookBytes.constantTimeEqual(expected + [0], expected))              // an extension
        #expect(!WebhookBytes.constantTimeEqual([], expected))
        #expect(!WebhookBytes.constantTimeEqual(expected, []))
        for index in expected.indices {
            var changed = expected
            changed[index] ^= 0x80
            #expect(!WebhookBytes.constantTimeEqual(changed, expected), "byte \(index)")
        }
    }

    @Test func decodersReturnNilInsteadOfTrapping() {
        #expect(WebhookBytes.hexDecode("00ffAB") == [0x00, 0xFF, 0xAB])
        for bad in ["0", "0g", "é0", "\u{0}\u{0}", "\u{1F600}"] {
            #expect(WebhookBytes.hexDecode(Substring(bad)) == nil, "\(bad)")
        }
        #expect(WebhookBytes.base64Decode("AAEC") == [0, 1, 2])
        #expect(WebhookBytes.base64Decode("") == [])
        for text in ["a", "ab", "abc", "abcd", "\u{FF}\u{0}x", String(repeating: "z", count: 97)] {
            let data = Data(text.utf8)
            #expect(WebhookBytes.base64Decode(data.base64EncodedString()) == Array(data), "\(text)")
        }
        for bad in ["A", "AA=A", "A===", "====", "=AAA", "ÄÄÄÄ", "AA AA", "\u{0}AAA", "AA-_", "AAAA\n"] {
            #expect(WebhookBytes.base64Decode(bad) == nil, "\(bad)")
        }
        #expect(WebhookVerifier.unixSeconds("0") == 0)
        #expect(WebhookVerifier.unixSeconds("999999999999999") == 999_999_999_999_999)
        for bad in ["", "1000000000000000", "+1", "-1", "1 ", "١٢٣", "1.5"] {
            #expect(WebhookVerifier.unixSeconds(Substring(bad)) == nil, "\(bad)")
        }
    }

    @Test func oversizedSignatureHeaderIsRefusedBeforeParsing() {
        let verifier = WebhookVerifier(scheme: .stripe, secrets: ["s"])
        let header = "t=1," + String(repeating: "v1=\(String(repeating: "a", count: 64)),", count: 200)
        #expect(Self.rejection(verifier, Self.stripeRequest(header), now: Self.epoch)
            == .unauthorized("header Stripe-Signature is \(header.utf8.count) bytes; limit is 8192"))
    }
}
