import Crypto
import Foundation

/// How a sender signs its webhooks. The raw value is the name used in configuration.
public enum WebhookSignatureScheme: String, Sendable, CaseIterable {
    /// `X-Shopify-Hmac-Sha256: base64(HMAC-SHA256(secret, body))`.
    case shopify
    /// `X-Hub-Signature-256: sha256=hex(HMAC-SHA256(secret, body))`.
    case github
    /// `Stripe-Signature: t=<unix>,v1=<hex>,...` over `"<t>.<body>"`.
    case stripe
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64> ...` over `"<id>.<t>.<body>"`.
    case standardWebhooks = "standard-webhooks"
    /// No signature: every request passes. Only for senders reached over a trusted network.
    case none
}

/// Checks a request's signature against one or more secrets.
///
/// Several secrets allow rotation: a request signed with any one of them passes. Every failure is a
/// 401 whose reason names the header and what is wrong with it, and never contains a secret or an
/// expected signature. Header parsing accepts any input without trapping.
public struct WebhookVerifier: Sendable {
    public let scheme: WebhookSignatureScheme
    /// Largest accepted distance, in seconds, between a signed timestamp and `now` (Stripe and
    /// Standard Webhooks; the other schemes sign no timestamp).
    public let tolerance: TimeInterval
    /// The keys as HMAC uses them; `nil` for a Standard Webhooks secret that is not base64.
    private let keys: [[UInt8]?]

    /// Signature headers longer than this are refused before they are parsed.
    static let maxHeaderBytes = 8192

    public init(scheme: WebhookSignatureScheme, secrets: [String], tolerance: TimeInterval = 300) {
        self.scheme = scheme
        self.tolerance = tolerance
        self.keys = secrets.map { secret in
            switch scheme {
            case .standardWebhooks: WebhookBytes.standardWebhooksKey(secret)
            default: Array(secret.utf8)
            }
        }
    }

    /// How many secrets were configured.
    public var secretCount: Int { keys.count }

    /// Passes, or throws `Rejection.unauthorized` saying why the request is not authentic.
    public func verify(_ request: InboundRequest, now: Date) throws(Rejection) {
        switch scheme {
        case .none:
            return
        case .shopify:
            let header = "X-Shopify-Hmac-Sha256"
            let value = try Self.requiredHeader(header, in: request)
            guard let mac = WebhookBytes.base64Decode(value) else {
                throw .unauthorized("header \(header) is not base64")
            }
            try Self.checkLength(mac, header: header)
            try match(candidates: [mac], message: request.body, header: header)
        case .github:
            let header = "X-Hub-Signature-256"
            let value = try Self.requiredHeader(header, in: request)
            guard value.hasPrefix("sha256=") else {
                throw .unauthorized("header \(header) does not start with \"sha256=\"")
            }
            guard let mac = WebhookBytes.hexDecode(value.dropFirst("sha256=".count)) else {
                throw .unauthorized("header \(header) is not hex after \"sha256=\"")
            }
            try Self.checkLength(mac, header: header)
            try match(candidates: [mac], message: request.body, header: header)
        case .stripe:
            try verifyStripe(request, now: now)
        case .standardWebhooks:
            try verifyStandardWebhooks(request, now: now)
        }
    }

    // MARK: - Stripe

    private func verifyStripe(_ request: InboundRequest, now: Date) throws(Rejection) {
        let header = "Stripe-Signature"
        let value = try Self.requiredHeader(header, in: request)
        var timestamp: Substring?
        var signatures: [Substring] = []
        for item in value.split(separator: ",", omittingEmptySubsequences: true) {
            guard let equals = item.firstIndex(of: "=") else { continue }
            let key = WebhookBytes.trimSpaces(item[..<equals])
            let field = WebhookBytes.trimSpaces(item[item.index(after: equals)...])
            switch key {
            case "t":
                guard timestamp == nil else { throw .unauthorized("header \(header) has more than one t=") }
                timestamp = field
            case "v1":
                signatures.append(field)
            default:
                continue  // v0 (test mode) and future schemes
            }
        }
        guard let timestamp else { throw .unauthorized("header \(header) has no t= timestamp") }
        guard let seconds = Self.unixSeconds(timestamp) else {
            throw .unauthorized("header \(header) has a t= that is not a Unix timestamp in seconds")
        }
        try checkFreshness(seconds, now: now, header: header)
        guard !signatures.isEmpty else { throw .unauthorized("header \(header) has no v1= signature") }
        let candidates = signatures.compactMap { WebhookBytes.hexDecode($0) }.filter { $0.count == 32 }
        guard !candidates.isEmpty else {
            throw .unauthorized("header \(header) has no v1= value of 64 hex digits")
        }
        let message = Array(timestamp.utf8) + [UInt8(ascii: ".")] + request.body
        try match(candidates: candidates, message: message, header: header)
    }

    // MARK: - Standard Webhooks

    private func verifyStandardWebhooks(_ request: InboundRequest, now: Date) throws(Rejection) {
        let id = try Self.requiredHeader("webhook-id", in: request)
        let timestamp = try Self.requiredHeader("webhook-timestamp", in: request)
        let header = "webhook-signature"
        let value = try Self.requiredHeader(header, in: request)
        guard let seconds = Self.unixSeconds(Substring(timestamp)) else {
            throw .unauthorized("header webhook-timestamp is not a Unix timestamp in seconds")
        }
        try checkFreshness(seconds, now: now, header: "webhook-timestamp")
        var sawVersion1 = false
        var candidates: [[UInt8]] = []
        for entry in value.split(separator: " ", omittingEmptySubsequences: true) {
            guard entry.hasPrefix("v1,") else { continue }  // other versions are not ours to check
            sawVersion1 = true
            if let mac = WebhookBytes.base64Decode(entry.dropFirst(3)), mac.count == 32 {
                candidates.append(mac)
            }
        }
        guard sawVersion1 else { throw .unauthorized("header \(header) has no v1 signature") }
        guard !candidates.isEmpty else {
            throw .unauthorized("header \(header) has no v1 signature that is 32 bytes of base64")
        }
        let message = Array(id.utf8) + [UInt8(ascii: ".")] + Array(timestamp.utf8) + [UInt8(ascii: ".")]
            + request.body
        try match(candidates: candidates, message: message, header: header)
    }

    // MARK: - Shared steps

    /// Computes the HMAC under every usable key and compares it with every candidate, in constant
    /// time and without stopping at the first match.
    private func match(candidates: [[UInt8]], message: [UInt8], header: String) throws(Rejection) {
        let usable = keys.compactMap { $0 }
        guard !keys.isEmpty else {
            throw .unauthorized("no secret is configured for \(scheme.rawValue) signatures (header \(header))")
        }
        let skipped = keys.count - usable.count
        guard !usable.isEmpty else {
            throw .unauthorized("header \(header) cannot be checked: no configured secret is base64 after \"whsec_\"")
        }
        var matched = false
        for key in usable {
            let expected = Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
            for candidate in candidates {
                // Every comparison runs, matched or not.
                let equal = WebhookBytes.constantTimeEqual(candidate, expected)
                matched = equal || matched
            }
        }
        guard matched else {
            var reason = "header \(header): no signature matched (\(Self.count(usable.count, "secret")) tried"
            if skipped > 0 { reason += "; \(Self.count(skipped, "secret")) skipped, not base64 after \"whsec_\"" }
            throw .unauthorized(reason + ")")
        }
    }

    private func checkFreshness(_ seconds: Int64, now: Date, header: String) throws(Rejection) {
        let distance = abs(now.timeIntervalSince1970 - Double(seconds))
        guard distance <= tolerance else {
            // `unixSeconds` allows at most 15 digits; the guard covers an extreme `now` too.
            let shown = distance.isFinite && distance < 1e17 ? Int(distance.rounded(.up)) : Int.max
            throw .unauthorized("header \(header): timestamp \(seconds) is \(shown) s from now "
                + "(tolerance \(Self.formatSeconds(tolerance)) s)")
        }
    }

    private static func requiredHeader(_ name: String, in request: InboundRequest) throws(Rejection) -> String {
        guard let value = request.header(name) else { throw .unauthorized("missing header \(name)") }
        guard !value.isEmpty else { throw .unauthorized("header \(name) is empty") }
        guard value.utf8.count <= maxHeaderBytes else {
            throw .unauthorized("header \(name) is \(value.utf8.count) bytes; limit is \(maxHeaderBytes)")
        }
        return value
    }

    private static func checkLength(_ mac: [UInt8], header: String) throws(Rejection) {
        guard mac.count == 32 else {
            throw .unauthorized("header \(header) holds \(mac.count) bytes; an HMAC-SHA256 is 32")
        }
    }

    /// Whole seconds since 1970: 1 to 15 ASCII digits, nothing else (no sign, no spaces).
    static func unixSeconds(_ text: Substring) -> Int64? {
        let digits = text.utf8
        guard (1...15).contains(digits.count), digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return digits.reduce(Int64(0)) { $0 * 10 + Int64($1 - 0x30) }
    }

    private static func formatSeconds(_ value: TimeInterval) -> String {
        value.isFinite && value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    private static func count(_ n: Int, _ noun: String) -> String { n == 1 ? "1 \(noun)" : "\(n) \(noun)s" }
}

extension WebhookVerifier: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Keeps the secrets out of logs, `print` and `dump`.
    public var description: String {
        "WebhookVerifier(scheme: \(scheme.rawValue), secrets: \(keys.count) redacted, tolerance: \(tolerance) s)"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(self, children: ["scheme": scheme, "secretCount": keys.count, "tolerance": tolerance],
               displayStyle: .struct)
    }
}

/// Byte helpers for the webhook connector: total decoders (they return nil, never trap) and a
/// constant-time comparison.
enum WebhookBytes {
    /// Compares every byte of `expected`; the time taken depends on the lengths only.
    static func constantTimeEqual(_ candidate: [UInt8], _ expected: [UInt8]) -> Bool {
        var difference: UInt8 = candidate.count == expected.count ? 0 : 1
        for index in expected.indices {
            let byte = index < candidate.count ? candidate[index] : 0
            difference |= byte ^ expected[index]
        }
        return difference == 0
    }

    /// Lowercase hex.
    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Hex in either case; nil for an odd length or any other character.
    static func hexDecode(_ text: Substring) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// Standard base64 (`+/`) with `=` padding only at the end; nil for anything else, including
    /// whitespace. (Foundation's decoder accepts `=` in mid-string on Linux, hence this one.)
    static func base64Decode<Text: StringProtocol>(_ text: Text) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 4 == 0 else { return nil }
        var padding = 0
        while padding < 2, padding < utf8.count, utf8[utf8.count - 1 - padding] == UInt8(ascii: "=") { padding += 1 }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count / 4 * 3)
        var accumulator: UInt32 = 0
        var bits = 0
        for c in utf8.dropLast(padding) {
            let value: UInt8
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            default: return nil
            }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
                accumulator &= (1 << UInt32(bits)) - 1
            }
        }
        return out
    }

    static func trimSpaces(_ text: Substring) -> Substring {
        var result = text
        while result.first == " " || result.first == "\t" { result.removeFirst() }
        while result.last == " " || result.last == "\t" { result.removeLast() }
        return result
    }

    /// A Standard Webhooks secret is `whsec_` + base64 of the key; padding may be left off.
    static func standardWebhooksKey(_ secret: String) -> [UInt8]? {
        var encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst("whsec_".count)) : secret
        guard !encoded.isEmpty else { return nil }
        if encoded.utf8.count % 4 != 0 { encoded += String(repeating: "=", count: 4 - encoded.utf8.count % 4) }
        return base64Decode(encoded)
    }
}
