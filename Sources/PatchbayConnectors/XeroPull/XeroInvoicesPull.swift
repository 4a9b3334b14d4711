import Foundation
import PatchbayHub
import PatchbayStore

/// `xero-invoices-pull`: the authorised sales invoices and credit notes of a Xero organisation, pulled
/// from the Accounting API (`GET /Invoices`, `GET /CreditNotes`) into the invoices table on a schedule.
///
/// Pages (`page`, `pageSize`) are loaded one by one with the run's cursor, as `quickbooks-online`
/// does: a run stopped by a crash, a 401, a 5xx or a 429 beyond `max_wait` is a failed run with its
/// reason, and the next scheduled run resumes after its last committed page. A full run read in one go
/// is a snapshot of the organisation: open items it no longer lists are closed; a resumed run closes
/// nothing. Between full runs (`full_every`, default 24 h), a run after a successful one is incremental:
/// `If-Modified-Since` its start, every status (a paid, voided or deleted item comes back with nothing
/// due and is settled), no snapshot. Credit notes count negative, as the `xero-csv` reader counts them.
public struct XeroInvoicesPull: BatchJob, SaaSConnection {
    enum Stage: String, CaseIterable {
        case invoices = "Invoices"
        case creditNotes = "CreditNotes"

        var filter: String { self == .invoices ? #"Type=="ACCREC""# : #"Type=="ACCRECCREDIT""# }
    }

    public var baseURL: String
    public var headers: [String: String]
    public var pageSize: Int
    public var timeout: Duration
    public var maxWait: TimeInterval
    /// How often a run is a full snapshot; the runs between ask only for what changed. 0: always full.
    public var fullEvery: TimeInterval
    public var secrets: [String]
    /// `auth: {type: oauth2}`: the bearer token of each request; nil sends the configured headers only.
    public var oauth: OAuthBinding?
    /// Where Xero's rate-limit headers go: the connector's daily quota.
    public let quota: QuotaBinding? = QuotaBinding(reader: XeroResponse.quota)
    var transport: any HTTPTransport

    init(baseURL: String, headers: [String: String], pageSize: Int = 100, timeout: Duration = .seconds(30),
         maxWait: TimeInterval = 60, fullEvery: TimeInterval = 86400, secrets: [String], oauth: OAuthBinding? = nil,
         transport: any HTTPTransport) {
        self.oauth = oauth
        self.fullEvery = fullEvery
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.headers = headers
        self.pageSize = max(1, pageSize)
        self.timeout = timeout
        self.maxWait = maxWait
        self.secrets = secrets
        self.transport = transport
    }

    public func run(_ context: BatchContext) async throws -> BatchReport {
        let store = context.store
        let job = context.connector.name
        let source = context.connector.id
        let tenant = headers.first { $0.key.lowercased() == "xero-tenant-id" }?.value ?? ""
        // Pages are only resumable at the same size.
        var input = "xero-invoices-pull tenant \(tenant) pages of \(pageSize)"
        // Incremental after a successful run, until the last full run is `fullEvery` old.
        var since: Date?
        if fullEvery > 0, let last = try store.lastBatchRun(job: job), last.status == .succeeded,
           let lastInput = last.input, lastInput.hasPrefix(input) {
            let full = Self.fullRunStart(lastInput) ?? last.startedAt
            if context.now.millis - full < Int64(fullEvery * 1000) {
                since = Date(millis: last.startedAt)
                input += " modified since \(last.startedAt) full \(full)"
            }
        }
        let cursor = try store.beginBatchRun(job: job, connector: source, input: input, now: context.now)
        var done = cursor.rowsDone
        var loaded = 0
        let stages = Stage.allCases
        do {
            var stage = 0
            var offset = 0  // rows of the stages before the current one
            if cursor.resumed, done > 0 {
                // Xero gives no count, but its page answers carry `pagination.itemCount`. Without it the
                // run reads again from the start: the rows are upserted, so nothing is stored twice.
                if let invoices = Self.itemCount(try await get(url(.invoices, page: 1, size: 1, since: since), since: since)) {
                    if done >= invoices {
                        stage = 1
                        offset = invoices
                    }
                } else {
                    context.logger.notice("no pagination.itemCount: the resumed run reads from the start", metadata: ["job": "\(job)"])
                    done = 0
                }
            }
            while stage < stages.count {
                let current = stages[stage]
                var page = (done - offset) / pageSize + 1
                while true {
                    let body = try await get(url(current, page: page, size: pageSize, since: since), since: since)
                    let rows = try Self.rows(body, stage: current)
                    var inputs: [InvoiceInput] = []
                    for (i, row) in rows.enumerated() {
                        let input = try XeroRecord.input(row, stage: current, position: done + i + 1)
                        // An incremental run keeps what is settled now: that is the news it brings.
                        if input.openMinor != 0 || since != nil { inputs.append(input) }
                    }
                    if !rows.isEmpty {
                        try store.loadInvoiceChunk(inputs, run: cursor.runId, source: source, cursor: done + rows.count,
                                                   now: context.now)
                        done += rows.count
                        loaded += inputs.count
                        Faults.check("batch.after-chunk")
                    }
                    if rows.count < pageSize { break }
                    page += 1
                }
                offset = done
                stage += 1
            }
        } catch {
            return try Self.stopPull(error, provider: "Xero", cursor: cursor, done: done, loaded: loaded, secrets: secrets,
                                     context: context)
        }
        try store.finishBatchRun(cursor.runId, source: source, snapshot: !cursor.resumed && since == nil, currencies: nil,
                                 rowsRejected: 0, now: context.now)
        return BatchReport(runId: cursor.runId, rowsRead: done, rowsLoaded: loaded, rowsRejected: 0, resumed: cursor.resumed)
    }

    /// The start of the last full run, from an incremental run's input (`… full <ms>`).
    static func fullRunStart(_ input: String) -> Int64? {
        guard let range = input.range(of: " full ") else { return nil }
        return Int64(input[range.upperBound...])
    }

    /// `2026-11-30T09:00:00`, UTC, as Xero reads `If-Modified-Since`.
    static func modifiedSince(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
        return formatter.string(from: date)
    }

    func url(_ stage: Stage, page: Int, size: Int, since: Date? = nil) -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+?#\"")
        let filter = stage.filter.addingPercentEncoding(withAllowedCharacters: allowed) ?? stage.filter
        return "\(baseURL)/api.xro/2.0/\(stage.rawValue)?where=\(filter)&Statuses=\(since == nil ? "AUTHORISED" : "AUTHORISED,PAID,VOIDED,DELETED")&page=\(page)&pageSize=\(size)"
    }

    static func rows(_ body: [UInt8], stage: Stage) throws -> [[String: Any]] {
        let object = try QuickBooksResponse.object(body)
        guard let list = object[stage.rawValue] else { return [] }
        guard let rows = list as? [[String: Any]] else {
            throw QuickBooksDataError(message: "\(stage.rawValue) is not a list")
        }
        return rows
    }

    static func itemCount(_ body: [UInt8]) -> Int? {
        guard let object = try? QuickBooksResponse.object(body) else { return nil }
        return ((object["pagination"] as? [String: Any])?["itemCount"] as? NSNumber)?.intValue
    }

    var reader: APIReader {
        APIReader(provider: "Xero", baseURL: baseURL, headers: headers, timeout: timeout, maxWait: maxWait, oauth: oauth,
                  quota: quota, transport: transport)
    }

    /// GETs one page (`since`: only what changed after it; a 304 is an empty page).
    func get(_ url: String, since: Date? = nil) async throws -> [UInt8] {
        let response = try await reader.get(url, headers: since.map { ["If-Modified-Since": Self.modifiedSince($0)] } ?? [:]) {
            response in
            switch response.status {
            case 429:
                let problem = XeroResponse.rateLimitProblem(headers: response.headers) ?? "Xero rate limit reached"
                let wait = FailureClassifier.retryAfter(response.header("Retry-After")).map { "Retry-After \(OptionReader.format($0))" }
                    ?? "no Retry-After"
                return "\(problem) (HTTP 429, \(wait))"
            case 401:
                return "Xero refused the credentials (HTTP 401): \(QuickBooksResponse.excerpt(response.body))"
            default:
                return "Xero answered HTTP \(response.status): \(XeroResponse.errorMessage(status: response.status, body: response.body) ?? QuickBooksResponse.excerpt(response.body))"
            }
        }
        return response.status == 304 ? Array(#"{"Invoices":[],"CreditNotes":[]}"#.utf8) : response.body
    }
}

/// One Xero invoice or credit note as an `InvoiceInput`, read as the `xero-csv` reader reads an export.
enum XeroRecord {
    static func input(_ row: [String: Any], stage: XeroInvoicesPull.Stage, position: Int) throws -> InvoiceInput {
        let isInvoice = stage == .invoices
        let id = row[isInvoice ? "InvoiceID" : "CreditNoteID"] as? String ?? ""
        let number = row[isInvoice ? "InvoiceNumber" : "CreditNoteNumber"] as? String ?? ""
        let what = "\(isInvoice ? "invoice" : "credit note") \(number.isEmpty ? id : number)"
        guard !id.isEmpty else { throw QuickBooksDataError(message: "\(what) has no id") }
        guard let customer = (row["Contact"] as? [String: Any])?["Name"] as? String else {
            throw QuickBooksDataError(message: "\(what) has no Contact.Name")
        }
        let currency = (row["CurrencyCode"] as? String ?? "").uppercased()
        func date(_ key: String) -> String? { (row[key] as? String).map { String($0.prefix(10)) } }
        guard let issue = date("DateString") else { throw QuickBooksDataError(message: "\(what) has no DateString") }
        let due = date("DueDateString") ?? issue
        func amount(_ key: String) throws -> Int64 {
            guard let value = row[key] as? NSNumber else { throw QuickBooksDataError(message: "\(what) has no \(key)") }
            do {
                return try Money.parseMinor(QuickBooksRecord.decimalText(value), currency: currency)
            } catch {
                throw QuickBooksDataError(message: "\(what): \(key) \(value) is not an amount in \(currency)")
            }
        }
        var total = try amount("Total")
        var open = try amount(isInvoice ? "AmountDue" : "RemainingCredit")
        if !isInvoice {
            total = -abs(total)
            open = -abs(open)
        }
        let input = InvoiceInput(externalId: number.isEmpty ? id : number, number: number,
                                 kind: isInvoice ? .invoice : .creditMemo, customer: customer, currency: currency,
                                 issueDate: issue, dueDate: due, totalMinor: total, openMinor: open, line: position)
        if let problem = InvoiceInput.firstProblem(in: [input]) {
            throw QuickBooksDataError(message: "\(what): \(problem.message)")
        }
        return input
    }
}

extension ConnectorModule {
    /// `xero-invoices-pull`: authorised sales invoices and credit notes pulled from Xero.
    public static let xeroInvoicesPull = ConnectorModule(
        name: "xero-invoices-pull", role: .batch,
        summary: "pulls authorised sales invoices and credit notes from Xero") { options, context, _ in
        var secrets: [String] = []
        let base = readBaseURL(options, fallback: "https://api.xero.com", example: "https://api.xero.com")
        let oauth = readOAuth(options, secrets: &secrets)
        let headers = readAPIHeaders(options, example: "Bearer ${XERO_ACCESS_TOKEN}", secrets: &secrets)
        if !headers.keys.contains(where: { $0.lowercased() == "xero-tenant-id" }) {
            options.problem("headers", "Xero needs the organisation: Xero-Tenant-Id: ${XERO_TENANT_ID}")
        }
        let pageSize = options.int("page_size", in: 1...1000) ?? 100
        let timeout = options.duration("timeout", in: 0.1...600) ?? 30
        let maxWait = options.duration("max_wait", in: 0...3600) ?? 60
        let fullEvery = options.duration("full_every", in: 0...(31 * 86400)) ?? 86400
        guard let base else { return nil }
        return .batch(XeroInvoicesPull(baseURL: base, headers: headers, pageSize: pageSize,
                                       timeout: .milliseconds(Int64(timeout * 1000)), maxWait: maxWait,
                                       fullEvery: fullEvery, secrets: secrets.uniqued(), oauth: oauth.map(OAuthBinding.init(client:)),
                                       transport: context.transport ?? context.deferredTransport))
    }
}
