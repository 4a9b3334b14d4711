import Crypto
import Foundation
import GRDB
import Logging
import PatchbayConnectors
import PatchbayHub
@testable import PatchbayStore
import Testing
import TestSupport

// The bad-input corpus: one file per case under Tests/Fixtures/bad-input (see its README.md), and
// one table row per file saying exactly how it is refused: the status or error kind, and a message
// that names what is wrong and where (header, line, key path). Refused input leaves nothing behind:
// an invoice file refused by the parser or the store changes no invoice.
//
// Bodies and headers too large to commit are made here, in code.

// MARK: - Shared helpers

private enum BadInput {
    static func url(_ path: String) -> URL { Fixtures.local("bad-input/\(path)") }

    static func data(_ path: String) throws -> Data { try Data(contentsOf: url(path)) }

    /// Every file of a corpus folder, so a file without a table row fails a test rather than being ignored.
    static func files(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: url(folder).path).filter { !$0.hasPrefix(".") }.sorted()
    }
}

// MARK: - Webhooks

/// A request file: `Name: value` header lines, an empty line, then the body bytes as they are.
/// `{{signature}}` in a header value is replaced by the valid signature of the request for the
/// case's scheme, so that the file's one defect is the only reason it is refused.
private struct WebhookCase: Sendable, CustomTestStringConvertible {
    var file: String
    var scheme: WebhookSignatureScheme
    var status: Int
    var reason: String
    /// For reasons with a part produced by Foundation (JSON errors): only the start is ours.
    var reasonIsPrefix = false

    var testDescription: String { file }
}

private enum Webhooks {
    /// The `now` of every case: the Standard Webhooks fixture's timestamp (2026-11-25 10:14:08 UTC).
    static let now = Date(timeIntervalSince1970: 1_795_611_248)

    static let secrets: [WebhookSignatureScheme: [String]] = [
        .shopify: ["shpss_fixture_secret_do_not_use"],  // ../shared/fixtures/webhooks/signature-vectors.json
        .github: ["It's a Secret to Everybody"],
        .stripe: ["whsec_bad_input_stripe_secret", "whsec_bad_input_stripe_previous"],
        .standardWebhooks: ["whsec_cGF0Y2hiYXktc3RhbmRhcmQtd2ViaG9va3MtZml4dHVyZS1rZXktMzJi"],
    ]

    /// A source as `patchbay.yaml` builds it for the scheme: default topic and key rules, 1 MiB limit.
    static func connector(_ scheme: WebhookSignatureScheme, maxBodyBytes: Int = 1 << 20) -> WebhookConnector {
        let rules = WebhookConnector.defaults(for: scheme)
        return WebhookConnector(verifier: WebhookVerifier(scheme: scheme, secrets: secrets[scheme] ?? []),
                                topic: rules.topic, idempotency: rules.idempotency, maxBodyBytes: maxBodyBytes)
    }

    static func mac(_ key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// The valid signature header value of a request, computed independently of `WebhookVerifier`.
    static func signature(_ scheme: WebhookSignatureScheme, headers: [(name: String, value: String)],
                          body: [UInt8]) -> String {
        func header(_ name: String) -> String {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value ?? ""
        }
        let secret = secrets[scheme]?.first ?? ""
        switch scheme {
        case .shopify:
            return Data(mac(Array(secret.utf8), body)).base64EncodedString()
        case .github:
            return "sha256=" + hex(mac(Array(secret.utf8), body))
        case .stripe:
            let t = header("Stripe-Signature").split(separator: ",").first { $0.hasPrefix("t=") }
                .map { String($0.dropFirst(2)) } ?? String(Int(now.timeIntervalSince1970))
            return hex(mac(Array(secret.utf8), Array("\(t).".utf8) + body))
        case .standardWebhooks:
            let key = [UInt8](Data(base64Encoded: String(secret.dropFirst("whsec_".count)))!)
            let message = Array("\(header("webhook-id")).\(header("webhook-timestamp")).".utf8) + body
            return "v1," + Data(mac(key, message)).base64EncodedString()
        case .none:
            return ""
        }
    }

    static func request(_ file: String, scheme: WebhookSignatureScheme) throws -> InboundRequest {
        let bytes = [UInt8](try BadInput.data("webhooks/\(file)"))
        var headers: [(name: String, value: String)] = []
        var index = 0
        var bodyStart = bytes.count
        while index < bytes.count {
            let end = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.count
            if end == index {  // the empty line
                bodyStart = index + 1
                break
            }
            let line = String(decoding: bytes[index..<end], as: UTF8.self)
            let colon = try #require(line.firstIndex(of: ":"), "\(file): header line without a colon: \(line)")
            var value = line[line.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
            headers.append((String(line[..<colon]), String(value)))
            index = end + 1
        }
        let body = Array(bytes[min(bodyStart, bytes.count)...])
        let valid = signature(scheme, headers: headers, body: body)
        headers = headers.map { ($0.name, $0.value.replacingOccurrences(of: "{{signature}}", with: valid)) }
        return InboundRequest(path: "/webhooks/\(scheme.rawValue)", headers: headers, body: body)
    }

    static func rejection(_ connector: any WebhookSource, _ request: InboundRequest, now: Date = now) -> Rejection? {
        do throws(Rejection) {
            let events = try connector.receive(request, now: now)
            Issue.record("the request was accepted: \(events)")
            return nil
        } catch {
            return error
        }
    }

    static let cases: [WebhookCase] = [
        // Shopify: base64(HMAC-SHA256(secret, body)) in X-Shopify-Hmac-Sha256.
        WebhookCase(file: "shopify-signature-of-another-body.http", scheme: .shopify, status: 401,
                    reason: "header X-Shopify-Hmac-Sha256: no signature matched (1 secret tried)"),
        WebhookCase(file: "shopify-hex-instead-of-base64.http", scheme: .shopify, status: 401,
                    reason: "header X-Shopify-Hmac-Sha256 holds 48 bytes; an HMAC-SHA256 is 32"),
        WebhookCase(file: "shopify-signature-with-space.http", scheme: .shopify, status: 401,
                    reason: "header X-Shopify-Hmac-Sha256 is not base64"),
        WebhookCase(file: "shopify-truncated-signature.http", scheme: .shopify, status: 401,
                    reason: "header X-Shopify-Hmac-Sha256 holds 30 bytes; an HMAC-SHA256 is 32"),
        WebhookCase(file: "shopify-missing-signature.http", scheme: .shopify, status: 401,
                    reason: "missing header X-Shopify-Hmac-Sha256"),
        WebhookCase(file: "shopify-empty-signature.http", scheme: .shopify, status: 401,
                    reason: "header X-Shopify-Hmac-Sha256 is empty"),
        // GitHub: sha256=hex(HMAC-SHA256(secret, body)) in X-Hub-Signature-256.
        WebhookCase(file: "github-truncated-body.http", scheme: .github, status: 401,
                    reason: "header X-Hub-Signature-256: no signature matched (1 secret tried)"),
        WebhookCase(file: "github-sha1-signature.http", scheme: .github, status: 401,
                    reason: #"header X-Hub-Signature-256 does not start with "sha256=""#),
        WebhookCase(file: "github-signature-31-bytes.http", scheme: .github, status: 401,
                    reason: "header X-Hub-Signature-256 holds 31 bytes; an HMAC-SHA256 is 32"),
        WebhookCase(file: "github-signature-33-bytes.http", scheme: .github, status: 401,
                    reason: "header X-Hub-Signature-256 holds 33 bytes; an HMAC-SHA256 is 32"),
        WebhookCase(file: "github-signature-odd-length.http", scheme: .github, status: 401,
                    reason: #"header X-Hub-Signature-256 is not hex after "sha256=""#),
        // Correctly signed, bad bodies and keys: 400, naming the byte, the header or the field.
        WebhookCase(file: "github-body-not-utf8.http", scheme: .github, status: 400,
                    reason: "body is not valid UTF-8 at byte 12"),
        WebhookCase(file: "github-body-overlong-utf8.http", scheme: .github, status: 400,
                    reason: "body is not valid UTF-8 at byte 11"),
        WebhookCase(file: "github-body-truncated-json.http", scheme: .github, status: 400,
                    reason: "body is not valid JSON: ", reasonIsPrefix: true),
        WebhookCase(file: "github-missing-event-header.http", scheme: .github, status: 400,
                    reason: "missing header X-GitHub-Event (the topic)"),
        WebhookCase(file: "github-delivery-id-with-bell.http", scheme: .github, status: 400,
                    reason: "idempotency key has an unprintable character (U+7) at position 3"),
        WebhookCase(file: "stripe-body-without-type.http", scheme: .stripe, status: 400,
                    reason: #"body has no field "type" (the topic)"#),
        // Stripe: t=<unix>,v1=<hex> over "<t>.<body>", 300 s tolerance.
        WebhookCase(file: "stripe-stale-timestamp.http", scheme: .stripe, status: 401,
                    reason: "header Stripe-Signature: timestamp 1795610947 is 301 s from now (tolerance 300 s)"),
        WebhookCase(file: "stripe-future-timestamp.http", scheme: .stripe, status: 401,
                    reason: "header Stripe-Signature: timestamp 1795614848 is 3600 s from now (tolerance 300 s)"),
        WebhookCase(file: "stripe-timestamp-in-milliseconds.http", scheme: .stripe, status: 401,
                    reason: "header Stripe-Signature: timestamp 1795611248000 is 1793815636752 s from now (tolerance 300 s)"),
        WebhookCase(file: "stripe-no-timestamp.http", scheme: .stripe, status: 401,
                    reason: "header Stripe-Signature has no t= timestamp"),
        WebhookCase(file: "stripe-two-timestamps.http", scheme: .stripe, status: 401,
                    reason: "header Stripe-Signature has more than one t="),
        WebhookCase(file: "stripe-fractional-timestamp.http", scheme: .stripe, status: 401,
                    reason: "header Stripe-Signature has a t= that is not a Unix timestamp in seconds"),
        WebhookCase(file: "stripe-only-v0.http", scheme: .stripe, status: 401,
                    reason: "header Stripe-Signature has no v1= signature"),
        WebhookCase(file: "stripe-short-v1.http", scheme: .stripe, status: 401,
                    reason: "header Stripe-Signature has no v1= value of 64 hex digits"),
        WebhookCase(file: "stripe-wrong-secret.http", scheme: .stripe, status: 401,
                    reason: "header Stripe-Signature: no signature matched (2 secrets tried)"),
        // Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature: v1,<base64>.
        WebhookCase(file: "standard-stale-timestamp.http", scheme: .standardWebhooks, status: 401,
                    reason: "header webhook-timestamp: timestamp 1795610947 is 301 s from now (tolerance 300 s)"),
        WebhookCase(file: "standard-missing-id.http", scheme: .standardWebhooks, status: 401,
                    reason: "missing header webhook-id"),
        WebhookCase(file: "standard-iso-timestamp.http", scheme: .standardWebhooks, status: 401,
                    reason: "header webhook-timestamp is not a Unix timestamp in seconds"),
        WebhookCase(file: "standard-v2-only.http", scheme: .standardWebhooks, status: 401,
                    reason: "header webhook-signature has no v1 signature"),
        WebhookCase(file: "standard-v1-not-base64.http", scheme: .standardWebhooks, status: 401,
                    reason: "header webhook-signature has no v1 signature that is 32 bytes of base64"),
        WebhookCase(file: "standard-signature-for-another-id.http", scheme: .standardWebhooks, status: 401,
                    reason: "header webhook-signature: no signature matched (1 secret tried)"),
    ]
}

@Suite struct BadInputCorpusWebhookTests {
    @Test(arguments: Webhooks.cases)
    fileprivate func refusedWithItsStatusAndAReasonNamingTheHeaderOrByte(_ c: WebhookCase) throws {
        let request = try Webhooks.request(c.file, scheme: c.scheme)
        let rejection = try #require(Webhooks.rejection(Webhooks.connector(c.scheme), request))
        #expect(rejection.status == c.status)
        if c.reasonIsPrefix {
            #expect(rejection.reason.hasPrefix(c.reason), "\(rejection.reason)")
        } else {
            #expect(rejection.reason == c.reason)
        }
        // Whatever the defect, no secret and no expected signature is ever echoed.
        for secret in Webhooks.secrets.values.joined() { #expect(!rejection.reason.contains(secret)) }
        let expected = Webhooks.signature(c.scheme, headers: request.headers, body: request.body)
        #expect(!rejection.reason.contains(expected))
    }

    @Test func everyWebhookFileHasACase() throws {
        #expect(try BadInput.files(in: "webhooks") == Webhooks.cases.map(\.file).sorted())
    }

    /// The stale cases fail on their timestamp only: at their own time they pass.
    @Test func staleTimestampsPassAtTheTimeTheyWereSigned() throws {
        for (file, scheme) in [("stripe-stale-timestamp.http", WebhookSignatureScheme.stripe),
                               ("standard-stale-timestamp.http", .standardWebhooks)] {
            let request = try Webhooks.request(file, scheme: scheme)
            let signedAt = Date(timeIntervalSince1970: 1_795_610_947)
            do throws(Rejection) {
                try Webhooks.connector(scheme).verifier.verify(request, now: signedAt)
            } catch {
                Issue.record("\(file) at its own time: \(error)")
            }
        }
    }

    @Test func tenMegabyteBodyIs413BeforeTheSignatureIsLookedAt() throws {
        let body = [UInt8](repeating: UInt8(ascii: "a"), count: 10 << 20)
        let connector = Webhooks.connector(.github)
        let unsigned: [(name: String, value: String)] = [("X-GitHub-Event", "push")]
        let signed = unsigned + [("X-Hub-Signature-256", Webhooks.signature(.github, headers: [], body: body))]
        for headers in [unsigned, signed] {
            let request = InboundRequest(path: "/webhooks/github", headers: headers, body: body)
            let rejection = try #require(Webhooks.rejection(connector, request))
            #expect(rejection == Rejection(status: 413, reason: "body is 10485760 bytes; limit is 1048576"))
        }
    }

    @Test func bodyAtTheLimitIsReadAndOneByteMoreIsNot() throws {
        let limit = 1 << 20
        let connector = Webhooks.connector(.github, maxBodyBytes: limit)
        func request(size: Int) -> InboundRequest {
            let json = Array(#"{"ref":"refs/heads/main"}"#.utf8)
            let body = json.dropLast() + [UInt8](repeating: UInt8(ascii: " "), count: size - json.count) + [UInt8(ascii: "}")]
            let bytes = Array(body)
            return InboundRequest(path: "/webhooks/github", headers: [
                ("X-Hub-Signature-256", Webhooks.signature(.github, headers: [], body: bytes)),
                ("X-GitHub-Event", "push"), ("X-GitHub-Delivery", "size-\(size)"),
            ], body: bytes)
        }
        do throws(Rejection) {
            let events = try connector.receive(request(size: limit), now: Webhooks.now)
            #expect(events.map(\.idempotencyKey) == ["size-\(limit)"])
        } catch {
            Issue.record("a body of exactly the limit was refused: \(error)")
        }
        let rejection = try #require(Webhooks.rejection(connector, request(size: limit + 1)))
        #expect(rejection == Rejection(status: 413, reason: "body is 1048577 bytes; limit is 1048576"))
    }

    @Test func configuredBodyLimitIsTheOneEnforced() throws {
        let config = try HubConfig.parse(yaml: """
            connectors:
              orders:
                module: webhook
                signature: none
                max_body: 512KiB
            """, file: "patchbay.yaml",
            context: ModuleContext(environment: [:], baseDirectory: URL(fileURLWithPath: "/etc/patchbay"), transport: nil))
        let definition = try #require(config.connector(named: "orders"))
        guard case .source(let source) = definition.built else {
            Issue.record("orders is not a source")
            return
        }
        #expect(source.maxBodyBytes == 524_288)
        let request = InboundRequest(path: "/webhooks/orders", headers: [],
                                     body: [UInt8](repeating: UInt8(ascii: " "), count: 600 << 10))
        let rejection = try #require(Webhooks.rejection(source, request))
        #expect(rejection == Rejection(status: 413, reason: "body is 614400 bytes; limit is 524288"))
    }

    @Test func signatureHeaderOverEightKilobytesIsRefusedUnparsed() throws {
        for (scheme, header) in [(WebhookSignatureScheme.shopify, "X-Shopify-Hmac-Sha256"),
                                 (.github, "X-Hub-Signature-256"), (.stripe, "Stripe-Signature"),
                                 (.standardWebhooks, "webhook-signature")] {
            let request = InboundRequest(path: "/webhooks/x", headers: [
                (header, "sha256=" + String(repeating: "a", count: 8186)),  // 8193 bytes
                ("webhook-id", "msg_1"), ("webhook-timestamp", "1795611248"),
            ], body: Array("{}".utf8))
            let rejection = try #require(Webhooks.rejection(Webhooks.connector(scheme), request))
            #expect(rejection == Rejection(status: 401, reason: "header \(header) is 8193 bytes; limit is 8192"))
        }
    }
}

// MARK: - CSV exports

private struct CSVCase: Sendable, CustomTestStringConvertible {
    var file: String
    var format: InvoiceCSVFormat
    /// The line `InvoiceCSVError` names (0: the whole file).
    var line: Int
    var message: String

    var testDescription: String { file }
}

/// A store with one import connector, used as `patchbay import invoices` uses it.
private final class ImportHarness: @unchecked Sendable {
    let store: Store
    let directory: TemporaryDirectory
    let source: Connector
    let format: InvoiceCSVFormat

    init(_ format: InvoiceCSVFormat) throws {
        self.format = format
        (store, directory) = try makeTestStore(homeCurrency: "EUR")
        source = try store.saveConnector(ConnectorSpec(name: format.rawValue, module: format.rawValue, pattern: .batch,
                                                       system: format == .quickbooks ? "QuickBooks" : "Xero",
                                                       direction: .source))
    }

    deinit { directory.remove() }

    struct Refused: Error, CustomStringConvertible {
        var description: String
    }

    /// What Sources/PatchbayCLI/Commands/Import.swift does with a file, minus the printing.
    @discardableResult
    func importLikeTheCLI(_ data: Data, file: String, currency: String = "EUR") throws -> InvoiceImportSummary {
        let job = "import \(format.rawValue)"
        let invoices: [InvoiceInput]
        do {
            invoices = try InvoiceCSV.parse(data, format: format, currency: currency, file: file)
        } catch {
            _ = try? store.recordFailedBatchRun(job: job, connector: source.id, rowsRead: 0, error: "\(error)")
            throw Refused(description: "\(error)\nNothing was imported.")
        }
        if invoices.isEmpty {
            throw Refused(description: "\(file): no invoice rows found; nothing was imported (an empty export would close every open invoice).")
        }
        return try store.importInvoices(invoices, source: source.id, job: job)
    }

    /// The realistic starting point: the format's good fixture, imported.
    func importBaseline() throws {
        let url = format == .quickbooks ? Fixtures.url("quickbooks/ar-aging-detail.csv")
            : Fixtures.local("xero/sales-invoices.csv")
        let summary = try importLikeTheCLI(try Data(contentsOf: url), file: url.path)
        #expect(summary.inserted > 0)
    }

    /// Every invoice row, every column.
    func invoices() throws -> [String] {
        try store.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM invoices ORDER BY id").map { "\($0)" }
        }
    }

    func context(now: Date) -> BatchContext {
        BatchContext(store: store, connector: source, now: now,
                     logger: Logger(label: "bad-input", factory: { _ in SwiftLogNoOpLogHandler() }))
    }
}

private enum CSVCases {
    static let cases: [CSVCase] = [
        // Missing columns: the header line and what it has.
        CSVCase(file: "quickbooks-missing-open-balance.csv", format: .quickbooks, line: 1,
                message: "missing column(s) Open Balance; found 'Date', 'Transaction Type', 'Num', 'Customer', 'Due Date', 'Amount'"),
        CSVCase(file: "xero-missing-columns.csv", format: .xero, line: 1,
                message: "missing column(s) DueDate, InvoiceAmountDue; found 'ContactName', 'InvoiceNumber', 'InvoiceDate', 'Total', 'Currency'"),
        CSVCase(file: "quickbooks-no-header-row.csv", format: .quickbooks, line: 1,
                message: "no header row with the columns Date, Transaction Type, Num, Customer, Due Date, Amount, Open Balance; the first line has 'A/R Aging Detail'"),
        CSVCase(file: "quickbooks-customer-column-twice.csv", format: .quickbooks, line: 1,
                message: "column 'Customer' appears 2 times in the header"),
        // Bad dates: the column, the value, the expected form.
        CSVCase(file: "quickbooks-impossible-date.csv", format: .quickbooks, line: 3,
                message: "Date '02/30/2026' is not a date (MM/DD/YYYY)"),
        CSVCase(file: "quickbooks-iso-due-date.csv", format: .quickbooks, line: 2,
                message: "Due Date '2026-11-16' is not a date (MM/DD/YYYY)"),
        CSVCase(file: "xero-slashed-date.csv", format: .xero, line: 3,
                message: "InvoiceDate '15/09/2026' is not a date (20 Nov 2026 or 2026-11-20)"),
        // Bad amounts.
        CSVCase(file: "quickbooks-european-amount.csv", format: .quickbooks, line: 2,
                message: "Amount '3.135,19' is not an amount (expected digits after the decimal point)"),
        CSVCase(file: "quickbooks-currency-symbol.csv", format: .quickbooks, line: 2,
                message: "Amount '$3135.19' is not an amount (expected digits, '-', '.', ',' or parentheses)"),
        CSVCase(file: "quickbooks-amount-too-large.csv", format: .quickbooks, line: 2,
                message: "Amount '99999999999999999999.00' is not an amount (too large)"),
        CSVCase(file: "quickbooks-empty-open-balance.csv", format: .quickbooks, line: 2,
                message: "Open Balance '' is not an amount (it is empty)"),
        CSVCase(file: "xero-yen-with-decimals.csv", format: .xero, line: 2,
                message: "Total '2500.50' is not an amount (JPY takes 0 decimals, not 2)"),
        // Duplicate invoice numbers.
        CSVCase(file: "quickbooks-duplicate-invoice-number.csv", format: .quickbooks, line: 4,
                message: "Num 'INV-1001' already appears on line 2"),
        CSVCase(file: "xero-duplicate-invoice-number.csv", format: .xero, line: 4,
                message: "InvoiceNumber 'INV-0101' has a different ContactName than on line 2"),
        // Broken CSV.
        CSVCase(file: "quickbooks-unclosed-quote.csv", format: .quickbooks, line: 2,
                message: "a quoted field starting here runs to line 3 and has text after its closing quote (is a closing quote missing?)"),
        CSVCase(file: "quickbooks-unclosed-quote-at-end.csv", format: .quickbooks, line: 3,
                message: #"a quoted field starting here is never closed (missing ")"#),
        CSVCase(file: "quickbooks-stray-quote.csv", format: .quickbooks, line: 3,
                message: "a quote inside an unquoted field (quote the whole field and double the quote)"),
        CSVCase(file: "quickbooks-latin1.csv", format: .quickbooks, line: 3,
                message: "the file is not UTF-8 text (save it as CSV UTF-8)"),
        CSVCase(file: "quickbooks-short-row.csv", format: .quickbooks, line: 3,
                message: "expected 7 fields like the header on line 1, found 6"),
        CSVCase(file: "quickbooks-row-after-total.csv", format: .quickbooks, line: 4,
                message: "a transaction after the report's TOTAL line"),
        // Rows that are not receivables.
        CSVCase(file: "xero-purchase-bill.csv", format: .xero, line: 3,
                message: "Type 'Purchase bill' is a payable, not a receivable (export sales invoices)"),
        CSVCase(file: "xero-unknown-status.csv", format: .xero, line: 2,
                message: "Status 'Pending' is not a Xero invoice status (Awaiting Payment, Paid, Draft, Voided, ...)"),
        // Nothing to read.
        CSVCase(file: "empty.csv", format: .quickbooks, line: 0, message: "the file is empty"),
        CSVCase(file: "blank-lines-only.csv", format: .xero, line: 0, message: "the file is empty"),
    ]

    /// Files that must be accepted, and files with their own tests below.
    static let otherFiles = ["quickbooks-bom-crlf.csv", "xero-bom-crlf.csv", "xero-blank-customer-nbsp.csv"]
}

@Suite struct BadInputCorpusCSVTests {
    @Test(arguments: CSVCases.cases)
    fileprivate func refusedWithFileLineAndWhatAndNothingIsImported(_ c: CSVCase) async throws {
        let url = BadInput.url("csv/\(c.file)")
        let data = try Data(contentsOf: url)

        // The parser: file, line, message.
        do {
            let invoices = try InvoiceCSV.parse(data, format: c.format, currency: "EUR", file: url.path)
            Issue.record("accepted, \(invoices.count) invoices")
        } catch let error as InvoiceCSVError {
            #expect(error.file == url.path)
            #expect(error.line == c.line)
            #expect(error.message == c.message)
            #expect(error.description == (c.line > 0 ? "\(url.path):\(c.line): \(c.message)" : "\(url.path): \(c.message)"))
        }

        // `patchbay import invoices` over a store holding the good export: refused, nothing changed,
        // and the refusal recorded as a failed run with the message.
        let cli = try ImportHarness(c.format)
        try cli.importBaseline()
        let before = try cli.invoices()
        #expect(throws: ImportHarness.Refused.self) { try cli.importLikeTheCLI(data, file: url.path) }
        #expect(try cli.invoices() == before)
        let run = try #require(try cli.store.batchRuns(limit: 1).first)
        #expect(run.status == .failed)
        #expect(run.error?.contains(c.message) == true, "\(run.error ?? "no error")")

        // The scheduled import job (`quickbooks-csv` / `xero-csv` in patchbay.yaml), one row per chunk.
        let job = try ImportHarness(c.format)
        try job.importBaseline()
        let jobBefore = try job.invoices()
        let report = try await InvoiceExportJob(file: url, format: c.format, currency: "EUR", chunkSize: 1)
            .run(job.context(now: Date()))
        #expect(report.rowsLoaded == 0)
        #expect(try job.invoices() == jobBefore)
        let jobRun = try #require(try job.store.batchRuns(limit: 1).first)
        #expect(jobRun.status == .failed)
        let located = c.line > 0 ? "\(c.file):\(c.line): \(c.message)" : "\(c.file): \(c.message)"
        #expect(jobRun.error == located)
    }

    @Test func everyCSVFileHasACase() throws {
        #expect(try BadInput.files(in: "csv") == (CSVCases.cases.map(\.file) + CSVCases.otherFiles).sorted())
    }

    /// A byte order mark and Windows line ends (CRLF, also inside a quoted field) are what Excel
    /// writes: accepted, with the same invoices and lines as the LF file without a BOM.
    @Test(arguments: [("quickbooks-bom-crlf.csv", InvoiceCSVFormat.quickbooks), ("xero-bom-crlf.csv", .xero)])
    func bomAndWindowsLineEndsAreAccepted(_ file: String, _ format: InvoiceCSVFormat) throws {
        let url = BadInput.url("csv/\(file)")
        let data = try Data(contentsOf: url)
        #expect(data.starts(with: [0xEF, 0xBB, 0xBF]))
        #expect(data.contains(0x0D))
        let invoices = try InvoiceCSV.parse(data, format: format, currency: "EUR", file: url.path)

        let unix = Data(String(decoding: data.dropFirst(3), as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n").utf8)
        #expect(try InvoiceCSV.parse(unix, format: format, currency: "EUR", file: url.path) == invoices)

        switch format {
        case .quickbooks:
            #expect(invoices.map(\.externalId) == ["INV-1001", "CM-2001", "INV-1005"])
            #expect(invoices.map(\.line) == [2, 3, 4])
            #expect(invoices.map(\.kind) == [.invoice, .creditMemo, .invoice])
            #expect(invoices[2].customer == #"Smith, Jones & "Partners""#)
            #expect(invoices.map(\.openMinor) == [313_519, -25_000, 0])
        case .xero:
            // INV-0101's second line item has a description over two lines (3 and 4); the draft is skipped.
            #expect(invoices.map(\.externalId) == ["INV-0101", "INV-0102"])
            #expect(invoices.map(\.line) == [2, 5])
            #expect(invoices.map(\.currency) == ["EUR", "GBP"])
        }

        let harness = try ImportHarness(format)
        let summary = try harness.importLikeTheCLI(data, file: url.path)
        #expect(summary.inserted == invoices.count)
        #expect(try harness.invoices().count == invoices.count)
    }

    /// A customer of only a non-breaking space (found by the CSV fuzzer). The reader once kept it (it
    /// trimmed spaces and tabs) while the store called it empty, so the scheduled job, which loads
    /// chunk by chunk, committed the rows before it and then stopped: a half-applied file. Now the
    /// reader and the store share one rule, and the reader refuses the file whole with its name,
    /// line and column, before any run starts.
    @Test func customerOfOnlyUnicodeSpacesIsRefusedWhole() async throws {
        let url = BadInput.url("csv/xero-blank-customer-nbsp.csv")
        let data = try Data(contentsOf: url)

        #expect(throws: InvoiceCSVError.self) { try InvoiceCSV.parse(data, format: .xero, currency: "EUR", file: url.path) }
        do {
            let invoices = try InvoiceCSV.parse(data, format: .xero, currency: "EUR", file: url.path)
            Issue.record("accepted: \(invoices.map(\.customer))")
        } catch let error as InvoiceCSVError {
            #expect(error.file == url.path)
            #expect(error.line == 3)
            #expect(error.message.contains("ContactName"), "\(error.message)")
        }

        // `patchbay import invoices`: refused with the file, line and column; nothing imported.
        let cli = try ImportHarness(.xero)
        try cli.importBaseline()
        let before = try cli.invoices()
        var message = ""
        do {
            try cli.importLikeTheCLI(data, file: url.path)
            Issue.record("imported")
        } catch {
            message = "\(error)"
        }
        #expect(try cli.invoices() == before)
        #expect(message.contains("\(url.path):3:"), "\(message)")
        #expect(message.contains("ContactName"), "\(message)")

        // The scheduled job, loading one row per chunk: nothing applied, and the run is recorded
        // as failed with the reason.
        let job = try ImportHarness(.xero)
        try job.importBaseline()
        let jobBefore = try job.invoices()
        do {
            _ = try await InvoiceExportJob(file: url, format: .xero, currency: "EUR", chunkSize: 1)
                .run(job.context(now: Date()))
        } catch {
            // Refusing by throwing is fine, as long as nothing was applied.
        }
        #expect(try job.invoices() == jobBefore)
        let run = try #require(try job.store.batchRuns(limit: 1).first)
        #expect(run.status == .failed)
        #expect(run.error?.contains("ContactName") == true, "\(String(describing: run.error))")
    }

    /// The store's own rule, for rows that come from elsewhere than a file reader: every kind of
    /// white space is blank, and such a row is refused before anything is written.
    @Test(arguments: ["\u{00A0}", " \t", "\u{2003}\u{3000}", "\n", "\u{2028}"])
    func storeRefusesBlankCustomers(_ customer: String) throws {
        #expect(InvoiceInput.isBlank(customer))
        let harness = try ImportHarness(.xero)
        try harness.importBaseline()
        let before = try harness.invoices()
        let row = InvoiceInput(externalId: "INV-X", number: "INV-X", kind: .invoice, customer: customer, currency: "EUR",
                               issueDate: "2026-11-01", dueDate: "2026-11-30", totalMinor: 100, openMinor: 100, line: 7)
        #expect(InvoiceInput.firstProblem(in: [row])?.line == 7)
        #expect(throws: StoreError.self) { try harness.store.importInvoices([row], source: harness.source.id, job: "t") }
        #expect(try harness.invoices() == before)
        #expect(!InvoiceInput.isBlank("\u{00A0}Acme"))
    }
}

// MARK: - Configuration files

private struct ConfigCase: Sendable, CustomTestStringConvertible {
    var file: String
    /// Every problem, exactly (key path, line, message); the order does not matter.
    var problems: [ConfigProblem]
    /// For YAML syntax errors: the message's start (the rest is libyaml's wording).
    var messagePrefix = false
    /// Set when the current behaviour differs from `problems` (what it should be): the exact check is
    /// then a known issue, and `current` is what the code reports today.
    var knownIssue: String?
    var current: [ConfigProblem] = []

    var testDescription: String { file }
}

private func problem(_ path: String, _ line: Int?, _ message: String) -> ConfigProblem {
    ConfigProblem(path: path, line: line, message: message)
}

private enum ConfigCases {
    static let cases: [ConfigCase] = [
        ConfigCase(file: "misspelt-key.yaml", problems: [
            problem("connectors.erp.timout", 9, "unknown key (did you mean 'timeout'?)")]),
        ConfigCase(file: "inline-secret.yaml", problems: [
            problem("connectors.shop.secret", 5,
                    "secrets must reference an environment variable, like ${SHOP_SECRET}; an inline value is not allowed")]),
        ConfigCase(file: "unset-environment-variable.yaml", problems: [
            problem("connectors.shop.secret", 5, "environment variable SHOPIFY_WEBHOOK_SECRET is not set")]),
        ConfigCase(file: "bad-duration.yaml", problems: [
            problem("delivery.lease", 2,
                    "expected a duration like 250ms, 10s, 5m, 2h or 30d (from 1s to 1d), found '5 minutes'")]),
        ConfigCase(file: "lease-shorter-than-timeout.yaml", problems: [
            problem("delivery.lease", 2, "the lease (20s) must be longer than connectors.erp.timeout (30s) plus 1 s, or a slow delivery would be taken over while it still runs")]),
        ConfigCase(file: "duplicate-webhook-path.yaml", problems: [
            problem("connectors.shop-us.path", 9, "'/hooks/orders' is already used by shop-eu")]),
        ConfigCase(file: "bad-indentation.yaml", problems: [problem("", 4, "not valid YAML: ")], messagePrefix: true),
        ConfigCase(file: "tab-indentation.yaml", problems: [problem("", 3, "not valid YAML: ")], messagePrefix: true),
        ConfigCase(file: "duplicate-connector.yaml", problems: [
            problem("connectors.orders", 5, "appears twice in the same mapping (first on line 2)")]),
        ConfigCase(file: "unknown-module.yaml", problems: [
            problem("connectors.invoices.module", 3,
                    "no module named 'xeroo'; known: csv-events, exec, file, http, quickbooks-csv, quickbooks-online, slack, smtp, webhook, xero, xero-csv, xero-invoices-pull")]),
        ConfigCase(file: "unknown-source.yaml", problems: [
            problem("connectors.erp.from", 8, "'shopfy-orders' is not a source connector of this file")]),
        ConfigCase(file: "no-connectors.yaml", problems: [problem("", 1, "missing required key 'connectors'")]),
        ConfigCase(file: "body-limit-too-large.yaml", problems: [
            problem("server.max_body", 2, "expected a size like 512KiB or 1MiB (at most 4194304 bytes), found '8MiB'")]),
        ConfigCase(file: "connectors-is-a-list.yaml", problems: [
            problem("connectors", 2, "expected a mapping, found a list"),
            problem("connectors", 2, "no connectors are declared")]),
        ConfigCase(file: "bad-schedule-and-rate.yaml", problems: [
            problem("connectors.erp.rate_limit", 9, "expected a rate like 60/min, 5/s or 1000/h, found '60 per minute'"),
            problem("connectors.ar.schedule", 13, "expected 'every 5m', 'hourly' or 'daily 02:30', found 'every day'")]),
        ConfigCase(file: "missing-module.yaml", problems: [
            problem("connectors.orders", 3, "missing required key 'module'")]),
        ConfigCase(file: "http-url-not-http.yaml", problems: [
            problem("connectors.erp.url", 4, "expected an http:// or https:// URL, found 'ftp://erp.example.com/orders'")]),
        ConfigCase(file: "not-utf8.yaml", problems: [problem("", nil, "the file is not UTF-8 text")]),
    ]
}

@Suite struct BadInputCorpusConfigTests {
    @Test(arguments: ConfigCases.cases)
    fileprivate func refusedWithEveryProblemAtItsKeyPathAndLine(_ c: ConfigCase) throws {
        let url = BadInput.url("config/\(c.file)")
        do {
            let config = try HubConfig.load(file: url, environment: [:])
            Issue.record("accepted, \(config.connectors.count) connectors")
        } catch {
            #expect(error.file == url.path)
            let key: (ConfigProblem) -> String = { "\($0.line ?? 0) \($0.path) \($0.message)" }
            let actual = error.problems.sorted { key($0) < key($1) }
            let expected = c.problems.sorted { key($0) < key($1) }
            if let knownIssue = c.knownIssue {
                withKnownIssue(Comment(rawValue: knownIssue)) { #expect(actual == expected) }
                #expect(actual == c.current.sorted { key($0) < key($1) })
            } else if c.messagePrefix {
                #expect(actual.map(\.path) == expected.map(\.path))
                #expect(actual.map(\.line) == expected.map(\.line))
                #expect(zip(actual, expected).allSatisfy { $0.message.hasPrefix($1.message) && $0.message.count > $1.message.count },
                        "\(actual)")
            } else {
                #expect(actual == expected)
            }
            // `patchbay check` prints one line per problem: file:line: key.path: message.
            for p in error.problems {
                let location = p.line.map { "\(url.path):\($0)" } ?? url.path
                #expect(error.description.contains("  \(location): " + (p.path.isEmpty ? p.message : "\(p.path): \(p.message)")))
            }
        }
    }

    @Test func everyConfigFileHasACase() throws {
        #expect(try BadInput.files(in: "config") == ConfigCases.cases.map(\.file).sorted())
    }
}
