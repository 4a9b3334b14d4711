import Foundation
import PatchbayHub
import PatchbayStore

/// `quickbooks-online`: the open invoices, credit memos and unapplied payments of a QuickBooks Online
/// company, pulled from the Accounting API's query endpoint into the invoices table on a schedule.
///
/// Pages (`STARTPOSITION`/`MAXRESULTS`, ordered by `Id`) are loaded one by one, each page and the run's
/// cursor (the rows read so far) committed together. A run that stops (a crash, a 401, a 429 beyond
/// `max_wait`, a 5xx) is recorded as a failed run with its reason and left resumable: the next
/// scheduled run continues after its last committed page, loading nothing twice. When the last page
/// is read in one go, the run is a snapshot of the whole company: open items it did not list are
/// closed, in every currency (the API, unlike an export file, speaks for all of them). A resumed run
/// closes nothing: what it read before and after its pause is not one picture.
public struct QuickBooksOnlinePull: BatchJob, SaaSConnection {
    public var baseURL: String
    public var realmId: String
    public var minorVersion: Int
    public var headers: [String: String]
    public var pageSize: Int
    /// For rows without `CurrencyRef` (QuickBooks sends it; this is only a fallback).
    public var currency: String
    public var entities: [QuickBooksEntity]
    public var timeout: Duration
    /// The longest `Retry-After` a throttled request waits before the run gives up (and resumes later).
    public var maxWait: TimeInterval
    /// Values removed from every error a run stores.
    public var secrets: [String]
    /// `auth: {type: oauth2}`: the bearer token of each request; nil sends the configured headers only.
    public var oauth: OAuthBinding?
    /// QuickBooks sends no quota headers: it throttles with 429 alone.
    public var quota: QuotaBinding? { nil }
    var transport: any HTTPTransport

    init(baseURL: String, realmId: String, minorVersion: Int = 75, headers: [String: String], pageSize: Int = 100,
         currency: String = "USD", unappliedPayments: Bool = true, timeout: Duration = .seconds(30),
         maxWait: TimeInterval = 60, secrets: [String], oauth: OAuthBinding? = nil, transport: any HTTPTransport) {
        self.oauth = oauth
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.realmId = realmId
        self.minorVersion = minorVersion
        self.headers = headers
        self.pageSize = max(1, pageSize)
        self.currency = currency
        self.entities = unappliedPayments ? QuickBooksEntity.allCases : [.invoice, .creditMemo]
        self.timeout = timeout
        self.maxWait = maxWait
        self.secrets = secrets
        self.transport = transport
    }

    public func run(_ context: BatchContext) async throws -> BatchReport {
        let store = context.store
        let job = context.connector.name
        let source = context.connector.id
        let input = "quickbooks-online realm \(realmId)"
        let cursor = try store.beginBatchRun(job: job, connector: source, input: input, now: context.now)
        var done = cursor.rowsDone
        var loaded = 0
        do {
            // Where the cursor is: rows of the entities before it, then a position in one of them.
            var stage = 0
            var position = done + 1
            if cursor.resumed, done > 0 {
                context.logger.notice("resuming batch run", metadata: ["job": "\(job)", "run": "\(cursor.runId)", "after_row": "\(done)"])
                var before = 0
                while stage < entities.count {
                    let count = try QuickBooksResponse.totalCount(try await query(entities[stage].count))
                    if done < before + count { break }
                    before += count
                    stage += 1
                }
                position = done - before + 1
            }
            while stage < entities.count {
                let entity = entities[stage]
                let rows = try QuickBooksResponse.rows(try await query(entity.page(start: position, size: pageSize)),
                                                       entity: entity)
                var inputs: [InvoiceInput] = []
                for (offset, row) in rows.enumerated() {
                    let input = try QuickBooksRecord.input(row, entity: entity, defaultCurrency: currency,
                                                           position: position + offset)
                    if input.openMinor != 0 { inputs.append(input) }
                }
                if !rows.isEmpty {
                    try store.loadInvoiceChunk(inputs, run: cursor.runId, source: source, cursor: done + rows.count,
                                               now: context.now)
                    done += rows.count
                    loaded += inputs.count
                    position += rows.count
                    Faults.check("batch.after-chunk")
                }
                if rows.count < pageSize {
                    stage += 1
                    position = 1
                }
            }
        } catch {
            return try Self.stopPull(error, provider: "QuickBooks", cursor: cursor, done: done, loaded: loaded, secrets: secrets,
                                     context: context)
        }
        // A resumed run read its pages at two moments: an item that moved across the cursor meanwhile
        // (an earlier one was paid) was never listed, and must not be closed for it. The next run,
        // read in one go, is the snapshot.
        try store.finishBatchRun(cursor.runId, source: source, snapshot: !cursor.resumed, currencies: nil,
                                 rowsRejected: 0, now: context.now)
        return BatchReport(runId: cursor.runId, rowsRead: done, rowsLoaded: loaded, rowsRejected: 0,
                           resumed: cursor.resumed)
    }

    /// The URL of one query: `/v3/company/{realm}/query?query=...&minorversion=75`.
    func url(_ query: String) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#'")
        let encoded = query.addingPercentEncoding(withAllowedCharacters: allowed) ?? query
        return "\(baseURL)/v3/company/\(realmId)/query?query=\(encoded)&minorversion=\(minorVersion)"
    }

    /// GETs one query's answer.
    func query(_ text: String) async throws -> [UInt8] {
        let reader = APIReader(provider: "QuickBooks", baseURL: baseURL, headers: headers, timeout: timeout, maxWait: maxWait,
                               oauth: oauth, quota: nil, transport: transport)
        return try await reader.get(url(text), what: "'\(text)'") { response in
            switch response.status {
            case 429:
                let wait = FailureClassifier.retryAfter(response.header("Retry-After")).map { "Retry-After \(OptionReader.format($0))" }
                    ?? "no Retry-After"
                return "throttled by QuickBooks (HTTP 429, \(wait)): \(QuickBooksResponse.fault(response.body))"
            case 401:
                return "QuickBooks refused the credentials (HTTP 401): \(QuickBooksResponse.fault(response.body))"
            case 403:
                return "QuickBooks refused access to company \(realmId) (HTTP 403): \(QuickBooksResponse.fault(response.body))"
            default:
                return "QuickBooks answered HTTP \(response.status) to '\(text)': \(QuickBooksResponse.fault(response.body))"
            }
        }.body
    }
}

extension ConnectorModule {
    /// `quickbooks-online`: open invoices, credit memos and unapplied payments pulled from the
    /// QuickBooks Online Accounting API into the invoices table.
    public static let quickbooksOnline = ConnectorModule(
        name: "quickbooks-online", role: .batch,
        summary: "pulls open invoices, credit memos and unapplied payments from QuickBooks Online") { options, context, _ in
        var secrets: [String] = []
        let base = readBaseURL(options, fallback: "https://quickbooks.api.intuit.com",
                               example: "https://sandbox-quickbooks.api.intuit.com")
        let realmText = options.string("realm_id", required: true)
        let realm = realmText.flatMap { options.interpolated($0, key: "realm_id") }
        if let realm, realm.isEmpty || !realm.allSatisfy({ $0.isASCII && $0.isNumber }) {
            options.problem("realm_id", "expected the company's realm id (digits)")
        }
        let minorVersion = options.int("minor_version", in: 1...999) ?? 75
        let oauth = readOAuth(options, secrets: &secrets)
        let headers = readAPIHeaders(options, example: "Bearer ${QBO_ACCESS_TOKEN}", secrets: &secrets)
        let pageSize = options.int("page_size", in: 1...1000) ?? 100
        let currency = (options.string("currency") ?? "USD").uppercased()
        if !Currency.isValidCode(currency) { options.problem("currency", "'\(currency)' is not an ISO 4217 code like EUR") }
        let payments = options.bool("unapplied_payments") ?? true
        let timeout = options.duration("timeout", in: 0.1...600) ?? 30
        let maxWait = options.duration("max_wait", in: 0...3600) ?? 60
        guard let base, let realm else { return nil }
        return .batch(QuickBooksOnlinePull(
            baseURL: base, realmId: realm, minorVersion: minorVersion, headers: headers, pageSize: pageSize,
            currency: currency, unappliedPayments: payments, timeout: .milliseconds(Int64(timeout * 1000)),
            maxWait: maxWait, secrets: secrets.uniqued(), oauth: oauth.map(OAuthBinding.init(client:)),
            transport: context.transport ?? context.deferredTransport))
    }
}
