import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PatchbayConnectors
import PatchbayHub
import PatchbayRuntime
@testable import PatchbayStore
import Testing
import TestSupport

private let xeroToken = "xero-access-token-51c0ffee"
let xeroTenant = "7d5c3b1a-0000-4000-8000-00000000beef"
let xeroRunTime = Date(timeIntervalSince1970: 1_795_000_000)

/// Xero's Accounting API on 127.0.0.1: `GET /api.xro/2.0/Invoices` and `/CreditNotes` with
/// `where=Type=="ACCREC"`, `Statuses=AUTHORISED`, `page`, `pageSize`; answers carry `pagination` and
/// the rate-limit headers (`X-DayLimit-Remaining`, `X-MinLimit-Remaining`).
final class XeroAPIMock: @unchecked Sendable {
    struct Call: Sendable, Equatable {
        var endpoint: String
        var page: Int
        var size: Int
        var statuses = "AUTHORISED"
        var since: String? = nil
    }

    private let lock = NSLock()
    private var rows: [String: [[String: Any]]]
    private var log: [Call] = []
    private var override: (@Sendable (Int, Call) -> (Int, [String: String], String)?)?
    /// Judges the `Authorization` header; nil accepts `Bearer <xeroToken>` only.
    private var authorizer: (@Sendable (String?) -> Bool)?
    /// Whether answers carry `pagination` (Xero's older answers do not).
    var paginated: Bool {
        get { lock.withLock { _paginated } }
        set { lock.withLock { _paginated = newValue } }
    }
    private var _paginated = true
    let port: Int
    private var task: Task<Void, Never>?

    init() async throws {
        let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: Fixtures.local("xero-api/open-items.json"))) as! [String: Any]
        rows = ["Invoices": fixture["Invoices"] as! [[String: Any]], "CreditNotes": fixture["CreditNotes"] as! [[String: Any]]]
        port = try MockSaaS.freePort()
        let router = Router()
        router.get("/api.xro/2.0/{endpoint}") { request, context in try self.handle(request, context: context) }
        task = await serveOnLoopback(router, port: port, label: "xero-mock")
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var calls: [Call] { lock.withLock { log } }

    func answer(_ override: (@Sendable (Int, Call) -> (Int, [String: String], String)?)?) {
        lock.withLock { self.override = override }
    }

    func stop() { task?.cancel() }

    /// Lets `judge` decide which bearer tokens are good (an OAuth provider's, that expire).
    func authorize(with judge: @escaping @Sendable (String?) -> Bool) { lock.withLock { authorizer = judge } }

    /// Changes one row (by number), marking it modified for `If-Modified-Since`.
    func update(_ endpoint: String, number: String, _ change: (inout [String: Any]) -> Void) {
        lock.withLock {
            let key = endpoint == "Invoices" ? "InvoiceNumber" : "CreditNoteNumber"
            guard let index = rows[endpoint]?.firstIndex(where: { $0[key] as? String == number }) else { return }
            change(&rows[endpoint]![index])
            rows[endpoint]![index]["_modified"] = true
        }
    }

    private func handle(_ request: Request, context: BasicRequestContext) throws -> Response {
        let endpoint = context.parameters.get("endpoint") ?? ""
        let query = request.uri.queryParameters
        let call = Call(endpoint: endpoint, page: query["page"].flatMap { Int(String($0)) } ?? 1,
                        size: query["pageSize"].flatMap { Int(String($0)) } ?? 100,
                        statuses: query["Statuses"].map(String.init) ?? "",
                        since: request.headers[HTTPField.Name("If-Modified-Since")!])
        let (n, override, authorizer) = lock.withLock { () -> (Int, (@Sendable (Int, Call) -> (Int, [String: String], String)?)?, (@Sendable (String?) -> Bool)?) in
            log.append(call)
            return (log.count, self.override, self.authorizer)
        }
        let authorized = authorizer?(request.headers[.authorization]) ?? (request.headers[.authorization] == "Bearer \(xeroToken)")
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[HTTPField.Name("X-DayLimit-Remaining")!] = "\(5000 - n)"
        fields[HTTPField.Name("X-MinLimit-Remaining")!] = "\(max(0, 60 - n))"
        guard authorized,
              request.headers[HTTPField.Name("Xero-Tenant-Id")!] == xeroTenant else {
            let echo = request.headers[.authorization] ?? ""
            return Response(status: .unauthorized, headers: fields, body: .init(byteBuffer: ByteBuffer(
                string: #"{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"AuthenticationUnsuccessful: \#(echo)"}"#)))
        }
        if let (status, headers, body) = override?(n, call) {
            for (name, value) in headers { fields[HTTPField.Name(name)!] = value }
            return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let statuses = Set(call.statuses.split(separator: ",").map(String.init))
        guard !statuses.isEmpty, let filter = query["where"].map(String.init) else {
            return Response(status: .badRequest, headers: fields)
        }
        let type = filter == #"Type=="ACCREC""# ? "ACCREC" : filter == #"Type=="ACCRECCREDIT""# ? "ACCRECCREDIT" : "?"
        let listed = lock.withLock { rows[endpoint] ?? [] }
            .filter { statuses.contains($0["Status"] as? String ?? "") && $0["Type"] as? String == type }
            // If-Modified-Since: only what a test changed.
            .filter { call.since == nil || $0["_modified"] as? Bool == true }
        let page = Array(listed.dropFirst((call.page - 1) * call.size).prefix(call.size))
        let pageCount = (listed.count + call.size - 1) / call.size
        var answer: [String: Any] = [
            "Id": UUID().uuidString, "Status": "OK", "ProviderName": "Patchbay tests", "DateTimeUTC": "/Date(0)/",
            endpoint: page,
        ]
        if paginated {
            answer["pagination"] = ["page": call.page, "pageSize": call.size, "pageCount": pageCount, "itemCount": listed.count]
        }
        let data = try JSONSerialization.data(withJSONObject: answer)
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

private final class XeroPullHarness: @unchecked Sendable {
    let store: Store
    let directory: TemporaryDirectory
    let connector: Connector
    let job: any BatchJob

    init(mock: XeroAPIMock, pageSize: Int, extra: String = "", token: String = xeroToken) throws {
        (store, directory) = try makeTestStore(homeCurrency: "EUR")
        connector = try store.saveConnector(ConnectorSpec(name: "xero-ar", module: "xero-invoices-pull", pattern: .batch,
                                                          system: "Xero", direction: .source))
        let yaml = """
            connectors:
              xero-ar:
                module: xero-invoices-pull
                base_url: \(mock.baseURL)
                page_size: \(pageSize)
                headers:
                  Authorization: Bearer ${XERO_ACCESS_TOKEN}
                  Xero-Tenant-Id: ${XERO_TENANT_ID}
                schedule: hourly
            \(extra)
            """
        var registry = ConnectorRegistry.builtIn
        registry.register(.xeroInvoicesPull)
        let config = try HubConfig.parse(yaml: yaml, file: "test.yaml", context: ModuleContext(
            environment: ["XERO_ACCESS_TOKEN": token, "XERO_TENANT_ID": xeroTenant], baseDirectory: directory.url,
            transport: LoopbackTransport()), registry: registry)
        guard case .batch(let job) = config.connectors[0].built else { throw CocoaError(.featureUnsupported) }
        self.job = job
    }

    deinit { directory.remove() }

    func run(now: Date = xeroRunTime) async throws -> BatchReport {
        var logger = Logger(label: "xero-test")
        logger.logLevel = .critical
        return try await job.run(BatchContext(store: store, connector: connector, now: now, logger: logger))
    }

    func runs() throws -> [BatchRun] { try store.batchRuns(limit: 100).sorted { $0.id < $1.id } }
}

/// `Tests/Fixtures/xero/sales-invoices.csv` through the existing `xero-csv` path.
func xeroAgingFromCSV() async throws -> [CurrencyAging] {
    let (store, directory) = try makeTestStore(homeCurrency: "EUR")
    defer { directory.remove() }
    let connector = try store.saveConnector(ConnectorSpec(name: "ar", module: "xero-csv", pattern: .batch, system: "Xero",
                                                          direction: .source))
    let job = InvoiceExportJob(file: Fixtures.local("xero/sales-invoices.csv"), format: .xero, currency: "EUR")
    _ = try await job.run(BatchContext(store: store, connector: connector, now: xeroRunTime, logger: Logger(label: "csv")))
    return try store.aging(asOf: "2026-11-30", by: .due)
}

@Suite("xero-invoices-pull: invoices pulled from Xero's Accounting API", .serialized)
struct XeroInvoicesPullTests {
    @Test("paged pull of authorised sales invoices and credit notes ages like the xero-csv import, per currency, to the cent")
    func pagedPullAgesLikeTheCSVImport() async throws {
        let mock = try await XeroAPIMock()
        defer { mock.stop() }
        let hub = try XeroPullHarness(mock: mock, pageSize: 2)
        let report = try await hub.run()
        #expect(report.rowsRead == 5 && report.rowsLoaded == 5)
        // Four authorised sales invoices fill two pages: the third, empty, ends them.
        #expect(mock.calls == [.init(endpoint: "Invoices", page: 1, size: 2), .init(endpoint: "Invoices", page: 2, size: 2),
                               .init(endpoint: "Invoices", page: 3, size: 2), .init(endpoint: "CreditNotes", page: 1, size: 2)])
        let api = try hub.store.aging(asOf: "2026-11-30", by: .due)
        #expect(api.map(\.currency) == ["EUR", "GBP", "USD"])
        #expect(api == (try await xeroAgingFromCSV()))
        let eur = try #require(api.first)
        #expect(eur.totalMinor == 14_161 + 98_050 - 5_000)
    }

    @Test("between full runs a run asks If-Modified-Since the last one, settles what was paid, and a day later a full run is the snapshot again")
    func incrementalRunsBetweenFullOnes() async throws {
        let mock = try await XeroAPIMock()
        defer { mock.stop() }
        let hub = try XeroPullHarness(mock: mock, pageSize: 2)
        _ = try await hub.run()
        let full = try hub.store.aging(asOf: "2026-11-30", by: .due)
        mock.update("Invoices", number: "INV-0102") {
            $0["Status"] = "PAID"
            $0["AmountDue"] = 0
            $0["AmountPaid"] = 1200
        }
        let before = mock.calls.count
        let incremental = try await hub.run(now: xeroRunTime.addingTimeInterval(3600))
        #expect(incremental.rowsRead == 1 && incremental.rowsLoaded == 1)
        let calls = Array(mock.calls.dropFirst(before))
        #expect(calls.map(\.endpoint) == ["Invoices", "CreditNotes"])
        #expect(calls.allSatisfy { $0.since == "2026-11-18T11:06:40" })
        #expect(calls.allSatisfy { $0.statuses == "AUTHORISED,PAID,VOIDED,DELETED" })
        let after = try hub.store.aging(asOf: "2026-11-30", by: .due)
        #expect(after.map(\.currency) == ["EUR", "USD"])
        #expect(after.filter { $0.currency != "GBP" } == full.filter { $0.currency != "GBP" })

        let later = mock.calls.count
        _ = try await hub.run(now: xeroRunTime.addingTimeInterval(86400 + 60))
        #expect(mock.calls.dropFirst(later).allSatisfy { $0.since == nil && $0.statuses == "AUTHORISED" })
        #expect(try hub.store.aging(asOf: "2026-11-30", by: .due) == after)
        #expect(try hub.runs().map(\.status) == [.succeeded, .succeeded, .succeeded])
    }

    @Test("a run stopped in the credit notes resumes there, loading nothing twice")
    func resumesAtItsCursor() async throws {
        let mock = try await XeroAPIMock()
        defer { mock.stop() }
        let hub = try XeroPullHarness(mock: mock, pageSize: 2)
        mock.answer { _, call in call.endpoint == "CreditNotes" ? (503, [:], "{}") : nil }
        let first = try await hub.run()
        #expect(first.rowsRead == 4)
        #expect(try hub.runs().map(\.status) == [.failed])
        #expect(try hub.runs()[0].error?.hasSuffix("; 4 rows read so far: the next run resumes after them") == true)
        mock.answer(nil)
        let before = mock.calls.count
        let second = try await hub.run()
        #expect(second.resumed && second.rowsLoaded == 1 && second.rowsRead == 5)
        #expect(Array(mock.calls.dropFirst(before)) == [.init(endpoint: "Invoices", page: 1, size: 1),
                                                         .init(endpoint: "CreditNotes", page: 1, size: 2)])
        #expect(try hub.runs().map(\.status) == [.failed, .succeeded])
        #expect(try hub.store.aging(asOf: "2026-11-30", by: .due) == (try await xeroAgingFromCSV()))
    }

    @Test("without pagination.itemCount a resumed run reads again from the start, storing nothing twice")
    func resumesWithoutItemCount() async throws {
        let mock = try await XeroAPIMock()
        defer { mock.stop() }
        let hub = try XeroPullHarness(mock: mock, pageSize: 2)
        mock.answer { _, call in call.endpoint == "CreditNotes" ? (503, [:], "{}") : nil }
        _ = try await hub.run()
        mock.answer(nil)
        mock.paginated = false
        let second = try await hub.run()
        #expect(second.resumed && second.rowsRead == 5)
        #expect(try hub.runs().map(\.status) == [.failed, .succeeded])
        let count = try hub.store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM invoices") }
        #expect(count == 5)
        #expect(try hub.store.aging(asOf: "2026-11-30", by: .due) == (try await xeroAgingFromCSV()))
    }

    @Test("a 429 beyond max_wait and a 401 are failed runs with Xero's reason, without the token")
    func limitsAndRefusals() async throws {
        let mock = try await XeroAPIMock()
        defer { mock.stop() }
        let hub = try XeroPullHarness(mock: mock, pageSize: 2, extra: "    max_wait: 5s")
        mock.answer { _, _ in (429, ["Retry-After": "60", "X-Rate-Limit-Problem": "minute"], "") }
        _ = try await hub.run()
        #expect(try hub.runs().last?.error?.hasPrefix("Xero minute limit reached (HTTP 429, Retry-After 1m)") == true)
        mock.answer { n, _ in n == 2 ? (429, ["Retry-After": "1", "X-Rate-Limit-Problem": "minute"], "") : nil }
        let waited = try await hub.run()
        #expect(waited.rowsRead == 5)

        let refused = try XeroPullHarness(mock: mock, pageSize: 2, token: "a-stale-token-1234")
        _ = try await refused.run()
        let reason = try #require(try refused.runs().last?.error)
        #expect(reason.contains("HTTP 401") && reason.contains("AuthenticationUnsuccessful") && !reason.contains("a-stale-token-1234"))
    }
}
