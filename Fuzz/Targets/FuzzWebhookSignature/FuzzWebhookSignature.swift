// libFuzzer target: webhook signature headers and bodies.
//
// Input layout (see Fuzz/Corpus/FuzzWebhookSignature for examples):
//
//   byte 0            selects `now` and the tolerance from the tables below (any value is valid)
//   line 1            the signature header value, given to every scheme's header
//                     (X-Shopify-Hmac-Sha256, X-Hub-Signature-256, Stripe-Signature, webhook-signature)
//   line 2            webhook-id
//   line 3            webhook-timestamp
//   lines 4...        more headers, `Name: value` (sent before the ones above, so a repeated name wins)
//   an empty line     ends the headers; every byte after it is the body
//
// Header values are decoded from UTF-8 with replacement, as an HTTP server hands them over.
//
// Checked, for every scheme and secret set: `verify` returns or throws a 401 whose reason names the
// header and never holds a secret or the expected signature; a request that passes really carries the
// HMAC (checked with independent decoders); `WebhookConnector.receive` answers 400/401/413 only, 413
// exactly when the body is over the limit, and what it accepts has a printable topic and key of at
// most 200 scalars.
import Crypto
import Foundation
import FuzzSupport
import PatchbayConnectors

// MARK: - Fixed inputs

private let fixtureNow: Double = 1_795_611_248  // ../shared/fixtures/webhooks: standard_webhooks timestamp
private let nows: [Double] = [fixtureNow, fixtureNow + 301, fixtureNow - 299, 0, -1e18, 1e18, 9e15,
                              .infinity, -.infinity, .nan, Double(Int64.max), .greatestFiniteMagnitude]
private let tolerances: [Double] = [300, 0, 1, 86400, -1, .infinity, .nan, 1e300, 0.5]

private let shopifySecrets = ["shpss_fixture_secret_do_not_use", "shpss_old_secret_for_rotation"]
private let githubSecrets = ["It's a Secret to Everybody"]
private let stripeSecrets = ["whsec_stripe_fixture_secret_0123", "whsec_stripe_previous_secret_4567"]
private let standardSecrets = ["whsec_cGF0Y2hiYXktc3RhbmRhcmQtd2ViaG9va3MtZml4dHVyZS1rZXktMzJi",
                               "whsec_not*base64*at+all", "whsec_", "whsec_YWJj"]
private let allSecrets = shopifySecrets + githubSecrets + stripeSecrets + standardSecrets

private struct Case {
    var verifier: WebhookVerifier
    var secrets: [String]
    var headers: [String]  // every header the scheme reads
}

private func cases(tolerance: Double) -> [Case] {
    var out: [Case] = []
    for (scheme, secrets, headers) in [
        (WebhookSignatureScheme.shopify, shopifySecrets, ["X-Shopify-Hmac-Sha256"]),
        (.github, githubSecrets, ["X-Hub-Signature-256"]),
        (.stripe, stripeSecrets, ["Stripe-Signature"]),
        (.standardWebhooks, standardSecrets, ["webhook-id", "webhook-timestamp", "webhook-signature"]),
    ] {
        out.append(Case(verifier: WebhookVerifier(scheme: scheme, secrets: secrets, tolerance: tolerance),
                        secrets: secrets, headers: headers))
        // No usable secret at all, and (Standard Webhooks) only unusable ones.
        out.append(Case(verifier: WebhookVerifier(scheme: scheme, secrets: [], tolerance: tolerance),
                        secrets: [], headers: headers))
        if scheme == .standardWebhooks {
            out.append(Case(verifier: WebhookVerifier(scheme: scheme, secrets: ["whsec_!!", "nope"], tolerance: tolerance),
                            secrets: ["whsec_!!", "nope"], headers: headers))
        }
    }
    return out
}

private let casesByTolerance: [[Case]] = tolerances.map { cases(tolerance: $0) }

// MARK: - Input decoding

private func split(_ bytes: [UInt8]) -> (control: UInt8, headers: [(name: String, value: String)], body: [UInt8]) {
    guard let control = bytes.first else { return (0, [], []) }
    var lines: [[UInt8]] = []
    var index = 1
    var bodyStart = bytes.count
    var lineStart = 1
    while index < bytes.count {
        if bytes[index] == UInt8(ascii: "\n") {
            let line = Array(bytes[lineStart..<index])
            if line.isEmpty || line == [UInt8(ascii: "\r")] {
                bodyStart = index + 1
                break
            }
            lines.append(line)
            lineStart = index + 1
        }
        index += 1
    }
    if index >= bytes.count, lineStart < bytes.count { lines.append(Array(bytes[lineStart...])) }
    let body = bodyStart <= bytes.count ? Array(bytes[bodyStart...]) : []

    func text(_ line: [UInt8]) -> String {
        var line = line
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        return String(decoding: line, as: UTF8.self)
    }
    let signature = lines.count > 0 ? text(lines[0]) : nil
    let id = lines.count > 1 ? text(lines[1]) : nil
    let timestamp = lines.count > 2 ? text(lines[2]) : nil
    var headers: [(name: String, value: String)] = []
    for line in lines.dropFirst(3) {
        let string = text(line)
        if let colon = string.firstIndex(of: ":") {
            headers.append((String(string[..<colon]), String(string[string.index(after: colon)...].drop(while: { $0 == " " }))))
        }
    }
    if let signature {
        for name in ["X-Shopify-Hmac-Sha256", "X-Hub-Signature-256", "Stripe-Signature", "webhook-signature"] {
            headers.append((name, signature))
        }
    }
    if let id { headers.append(("webhook-id", id)) }
    if let timestamp { headers.append(("webhook-timestamp", timestamp)) }
    return (control, headers, body)
}

// MARK: - Independent reference decoders (deliberately not the ones under test)

private func referenceHex(_ text: Substring) -> [UInt8]? {
    let lower = text.lowercased()
    guard lower.count % 2 == 0, lower.allSatisfy({ $0.isHexDigit && $0.isASCII }) else { return nil }
    var out: [UInt8] = []
    var iterator = lower.makeIterator()
    while let high = iterator.next(), let low = iterator.next() {
        guard let byte = UInt8(String([high, low]), radix: 16) else { return nil }
        out.append(byte)
    }
    return out
}

private func referenceBase64(_ text: Substring) -> [UInt8]? {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var table = [Int](repeating: -1, count: 256)
    for (value, char) in alphabet.enumerated() { table[Int(char)] = value }
    var chars = Array(text.utf8)
    guard chars.count % 4 == 0 else { return nil }
    var padding = 0
    while padding < 2, chars.last == UInt8(ascii: "=") { chars.removeLast(); padding += 1 }
    var bits: [Bool] = []
    for char in chars {
        let value = table[Int(char)]
        guard value >= 0 else { return nil }
        for shift in stride(from: 5, through: 0, by: -1) { bits.append((value >> shift) & 1 == 1) }
    }
    var out: [UInt8] = []
    var position = 0
    while position + 8 <= bits.count {
        var byte: UInt8 = 0
        for bit in bits[position..<(position + 8)] { byte = byte << 1 | (bit ? 1 : 0) }
        out.append(byte)
        position += 8
    }
    return out
}

private func hmac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
    Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
}

private func standardKey(_ secret: String) -> [UInt8]? {
    var encoded = secret.hasPrefix("whsec_") ? String(secret.dropFirst(6)) : secret
    guard !encoded.isEmpty else { return nil }
    while encoded.utf8.count % 4 != 0 { encoded += "=" }
    return referenceBase64(Substring(encoded))
}

private func hexString(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

/// Whether the request really carries a valid signature: the oracle for a `verify` that passed.
private func reallySigned(_ scheme: WebhookSignatureScheme, secrets: [String], request: InboundRequest,
                          now: Double, tolerance: Double) -> Bool {
    func fresh(_ t: Substring) -> Bool {
        guard let seconds = Double(t) else { return false }
        return abs(now - seconds) <= tolerance
    }
    switch scheme {
    case .none:
        return true
    case .shopify:
        guard let value = request.header("X-Shopify-Hmac-Sha256"), let mac = referenceBase64(Substring(value)) else { return false }
        return secrets.contains { hmac(Array($0.utf8), request.body) == mac }
    case .github:
        guard let value = request.header("X-Hub-Signature-256"), value.hasPrefix("sha256="),
              let mac = referenceHex(value.dropFirst(7)) else { return false }
        return secrets.contains { hmac(Array($0.utf8), request.body) == mac }
    case .stripe:
        guard let value = request.header("Stripe-Signature") else { return false }
        let items = value.split(separator: ",").compactMap { item -> (Substring, Substring)? in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { return nil }  // an item without "=" is skipped
            let trim: (Substring) -> Substring = { s in
                var s = s
                while s.first == " " || s.first == "\t" { s.removeFirst() }
                while s.last == " " || s.last == "\t" { s.removeLast() }
                return s
            }
            return (trim(parts[0]), trim(parts[1]))
        }
        guard let t = items.first(where: { $0.0 == "t" })?.1, fresh(t) else { return false }
        let message = Array(t.utf8) + [UInt8(ascii: ".")] + request.body
        let macs = items.filter { $0.0 == "v1" }.compactMap { referenceHex($0.1) }
        return secrets.contains { secret in macs.contains(hmac(Array(secret.utf8), message)) }
    case .standardWebhooks:
        guard let id = request.header("webhook-id"), let t = request.header("webhook-timestamp"),
              let value = request.header("webhook-signature"), fresh(Substring(t)) else { return false }
        let message = Array(id.utf8) + [UInt8(ascii: ".")] + Array(t.utf8) + [UInt8(ascii: ".")] + request.body
        let macs = value.split(separator: " ").filter { $0.hasPrefix("v1,") }.compactMap { referenceBase64($0.dropFirst(3)) }
        return secrets.compactMap(standardKey).contains { key in macs.contains(hmac(key, message)) }
    }
}

// MARK: - The target

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        FileHandle.standardError.write(Data("FuzzWebhookSignature: \(message())\n".utf8))
        abort()
    }
}

private let connectors: [WebhookConnector] = {
    let none = WebhookVerifier(scheme: .none, secrets: [])
    return [
        WebhookConnector(verifier: none, topic: .fixed("webhook"), idempotency: .bodyHash, maxBodyBytes: 4096),
        WebhookConnector(verifier: none, topic: .bodyField("type"), idempotency: .bodyField("id"), maxBodyBytes: 64),
        WebhookConnector(verifier: none, topic: .header("X-Shopify-Topic"), idempotency: .header("webhook-id"),
                         correlationHeader: "X-Request-Id"),
        WebhookConnector(verifier: none, topic: .fixed("orders/create"), idempotency: .bodyHash,
                         transform: ShopifyOrderTransform()),
        WebhookConnector(verifier: WebhookVerifier(scheme: .shopify, secrets: shopifySecrets),
                         topic: .header("X-Shopify-Topic"), idempotency: .header("X-Shopify-Webhook-Id"),
                         transform: ShopifyOrderTransform()),
    ]
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let (control, headers, body) = split(bytes)
    let request = InboundRequest(path: "/webhooks/fuzz", headers: headers, body: body)
    let now = Date(timeIntervalSince1970: nows[Int(control) % nows.count])
    let toleranceIndex = Int(control / UInt8(nows.count)) % tolerances.count

    for testCase in casesByTolerance[toleranceIndex] {
        let scheme = testCase.verifier.scheme
        do {
            try testCase.verifier.verify(request, now: now)
            check(reallySigned(scheme, secrets: testCase.secrets, request: request,
                               now: now.timeIntervalSince1970, tolerance: testCase.verifier.tolerance),
                  "\(scheme.rawValue) accepted a request whose signature the reference check refuses")
        } catch {
            check(error.status == 401, "\(scheme.rawValue): status \(error.status), expected 401")
            check(testCase.headers.contains { error.reason.contains("header \($0)") },
                  "\(scheme.rawValue): reason names no header: \(error.reason)")
            for secret in allSecrets where secret.count >= 8 {
                check(!error.reason.contains(secret), "\(scheme.rawValue): reason holds a secret: \(error.reason)")
            }
            for secret in testCase.secrets {
                let mac = hmac(Array(secret.utf8), body)
                check(!error.reason.contains(hexString(mac)), "\(scheme.rawValue): reason holds the expected MAC")
                check(!error.reason.contains(Data(mac).base64EncodedString()),
                      "\(scheme.rawValue): reason holds the expected MAC")
            }
        }
    }

    for connector in connectors {
        do {
            let events = try connector.receive(request, now: now)
            check(body.count <= connector.maxBodyBytes, "accepted a body over the limit")
            check(!events.isEmpty, "accepted a request and produced no event")
            for event in events {
                check(!event.topic.isEmpty && !event.idempotencyKey.isEmpty, "empty topic or key")
                check(event.idempotencyKey.unicodeScalars.count <= WebhookConnector.maxKeyLength, "key too long")
                for scalar in (event.topic + event.idempotencyKey).unicodeScalars {
                    switch scalar.properties.generalCategory {
                    case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
                        check(false, "unprintable U+\(String(scalar.value, radix: 16)) in topic or key")
                    default: break
                    }
                }
                if let id = event.correlationId { check(!id.isEmpty, "empty correlation id") }
            }
        } catch {
            check([400, 401, 413].contains(error.status), "receive answered \(error.status)")
            check((error.status == 413) == (body.count > connector.maxBodyBytes),
                  "413 iff the body is over the limit (status \(error.status), \(body.count) bytes)")
            check(!error.reason.isEmpty, "empty reason")
        }
    }
    return 0
}

// MARK: - Entry point

// The `main` SwiftPM links this executable with (`--defsym main=FuzzWebhookSignature_main`): see FuzzSupport.
@_cdecl("FuzzWebhookSignature_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv)
}
