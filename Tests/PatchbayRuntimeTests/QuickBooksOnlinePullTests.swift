import Foundation
import Logging
import PatchbayConnectors
import PatchbayHub
import PatchbayRuntime
@testable import PatchbayStore
import Testing
import TestSupport

private let asOf = "2026-11-30"
private let runTime = Date(timeIntervalSince1970: 1_795_000_000)
private let token = "qbo-access-token-7f3a9c21e4"

/// A store with one `quickbooks-online` connector built from a configuration, pulling from the mock.
private final class PullHarness: @unchecked Sendable {
    let store: Store
    let directory: TemporaryDirectory
    let connector: Connector
    let job: any BatchJob

    init(mock: QuickBooksOnlineMock, pageSize: Int = 7, extra: String = "", environment: [String: String] = [:]) throws {
        (store, directory) = try makeTestStore(homeCurrency: "EUR")
        connector = try store.saveConnector(ConnectorSpec(name: "qbo-ar", module: "quickbooks-online", pattern: .batch,
                                                          system: "QuickBooks Online", direction: .source))
        let yaml = """
            connectors:
              qbo-ar:
                module: quickbooks-online
                base_url: \(mock.baseURL)
                realm_id: ${QBO_REALM_ID}
                page_size: \(pageSize)
                headers:
                  Authorization: Bearer ${QBO_ACCESS_TOKEN}
                schedule: hourly
            \(extra)
            """
        let config = try HubConfig.parse(
            yaml: yaml, file: "test.yaml",
            context: ModuleContext(environment: ["QBO_ACCESS_TOKEN": token, "QBO_REALM_ID": mock.realm]
                                       .merging(environment) { _, new in new },
                                   baseDirectory: directory.url, transport: LoopbackTransport()),
            registry: Self.registry)
        guard case .batch(let job) = config.connectors[0].built else { throw CocoaError(.featureUnsupported) }
        self.job = job
    }

    /// The built-in modules and this one (registered in `BuiltInModules.swift` by the lead).
    static var registry: ConnectorRegistry {
        var registry = ConnectorRegistry.builtIn
        registry.register(.quickbooksOnline)
        return registry
    }

    deinit { directory.remove() }

    func run(now: Date = runTime) async throws -> BatchReport {
        var logger = Logger(label: "qbo-test")
        logger.logLevel = .critical
        return try await job.run(BatchContext(store: store, connector: connector, now: now, logger: logger))
    }

    func runs() throws -> [BatchRun] { try store.batchRuns(limit: 100).sorted { $0.id < $1.id } }
}

/// The shared fixture imported through the existing CSV path (`quickbooks-csv`).
private func agingFromCSV() async throws -> [CurrencyAging] {
    let (store, directory) = try makeTestStore(homeCurrency: "EUR")
    defer { directory.remove() }
    let connector = try store.saveConnector(ConnectorSpec(name: "ar", module: "quickbooks-csv", pattern: .batch,
                                                          system: "QuickBooks", direction: .source))
    let job = InvoiceExportJob(file: Fixtures.url("quickbooks/ar-aging-detail.csv"), format: .quickbooks, currency: "EUR")
    let report = try await job.run(BatchContext(store: store, connector: connector, now: runTime, logger: Logger(label: "csv")))
    #expect(report.rowsLoaded == 61)
    return try store.aging(asOf: asOf, by: .due)
}

private func openMinor(_ store: Store, external: String) throws -> (Int64, String)? {
    try store.read { db in
        try Invoice.fetchOne(db, sql: "SELECT * FROM invoices WHERE external_id = ?", arguments: [external])
    }.map { ($0.openMinor, $0.status.rawValue) }
}

@Suite("quickbooks-online: invoices pulled from the Accounting API", .serialized)
struct QuickBooksOnlinePullTests {
    @Test("paged over several pages, the aging equals the CSV import's and the expected report, to the cent")
    func pagedPullAgesLikeTheCSVImport() async throws {
        let mock = try await QuickBooksOnlineMock(token: token)
        defer { mock.stop() }
        let hub = try PullHarness(mock: mock, pageSize: 7)
        let report = try await hub.run()

        // 46 open invoices in pages of 7 (7 requests), one credit memo, no unapplied payment.
        #expect(report.rowsRead == 47 && report.rowsLoaded == 47 && !report.resumed)
        #expect(mock.queries.filter { $0.entity == "Invoice" }.map(\.start) == [1, 8, 15, 22, 29, 36, 43])
        #expect(mock.queries.map(\.entity).filter { $0 != "Invoice" } == ["CreditMemo", "Payment"])
        #expect(mock.minorVersionsSeen == ["75"])
        #expect(try hub.runs().map(\.status) == [.succeeded])

        let api = try hub.store.aging(asOf: asOf, by: .due)
        let csv = try await agingFromCSV()
        #expect(api == csv)

        let json = try #require(try JSONSerialization.jsonObject(
            with: Fixtures.data("quickbooks/ar-aging-detail.expected.json")) as? [String: Any])
        let totals = try #require(json["totals"] as? [String: Any])
        let counts = try #require(json["counts"] as? [String: Any])
        let eur = try #require(api.first)
        #expect(api.map(\.currency) == ["EUR"])
        for bucket in AgingBucket.allCases {
            let expected = try Money.parseMinor("\(try #require(totals[bucket.rawValue] as? NSNumber).doubleValue)", currency: "EUR")
            #expect(eur[bucket].amountMinor == expected, "\(bucket.rawValue)")
            #expect(eur[bucket].count == counts[bucket.rawValue] as? Int, "\(bucket.rawValue)")
        }
        #expect(eur.totalMinor == 8_592_330)
        // The credit memo is negative, as the export shows it.
        #expect(try openMinor(hub.store, external: "creditmemo:118")?.0 == -25_000)
    }

    @Test("a second run after an invoice was paid in QuickBooks closes it (the pull is a snapshot)")
    func paidInvoiceIsClosedByTheNextRun() async throws {
        let mock = try await QuickBooksOnlineMock(token: token)
        defer { mock.stop() }
        let hub = try PullHarness(mock: mock, pageSize: 10)
        _ = try await hub.run()
        let before = try #require(try hub.store.aging(asOf: asOf, by: .due).first)
        // INV-1006 (Id 101): 1,930.74 open, 77 days past due.
        #expect(try openMinor(hub.store, external: "invoice:101")! == (193_074, "open"))

        mock.update("Invoice", id: "101") { $0["Balance"] = 0 }
        let second = try await hub.run(now: runTime.addingTimeInterval(3600))
        #expect(second.rowsLoaded == 46)
        #expect(try openMinor(hub.store, external: "invoice:101")! == (0, "closed"))
        let after = try #require(try hub.store.aging(asOf: asOf, by: .due).first)
        #expect(after.totalMinor == before.totalMinor - 193_074)
        #expect(after[.days61to90].amountMinor == before[.days61to90].amountMinor - 193_074)
        #expect(try hub.runs().map(\.status) == [.succeeded, .succeeded])
    }

    @Test("a run that fails mid-pages is a failed run with the reason, and the next resumes at its cursor, loading nothing twice")
    func failedRunResumesAtItsCursor() async throws {
        let mock = try await QuickBooksOnlineMock(token: token)
        defer { mock.stop() }
        let hub = try PullHarness(mock: mock, pageSize: 7)
        mock.answer { n, _ in
            n == 3 ? (503, [:], #"{"Fault":{"Error":[{"Message":"Service unavailable","Detail":"try later","code":"3001"}],"type":"SERVICE"}}"#) : nil
        }
        let first = try await hub.run()
        #expect(first.rowsRead == 14 && first.rowsLoaded == 14)
        var runs = try hub.runs()
        // One run in the history: failed with its reason, its cursor kept.
        #expect(runs.map(\.status) == [.failed])
        #expect(runs[0].cursor == "14" && runs[0].rowsLoaded == 14)
        let reason = try #require(runs[0].error)
        #expect(reason.contains("HTTP 503") && reason.contains("Service unavailable") && reason.contains("14 rows read"))

        mock.answer(nil)
        let before = mock.queries.count
        let second = try await hub.run(now: runTime.addingTimeInterval(3600))
        #expect(second.resumed && second.rowsRead == 47 && second.rowsLoaded == 33)
        let resumed = Array(mock.queries.dropFirst(before))
        // It counts the invoices to place its cursor, then reads from the 15th on.
        #expect(resumed.first == .init(entity: "Invoice", count: true, start: 0, size: 0))
        #expect(resumed.filter { $0.entity == "Invoice" && !$0.count }.map(\.start) == [15, 22, 29, 36, 43])
        runs = try hub.runs()
        // The failed run stays failed; the next started after its cursor and finished the pull.
        #expect(runs.map(\.status) == [.failed, .succeeded])
        #expect(runs[0].error == reason && runs[1].rowsRead == 47 && runs[1].rowsLoaded == 33)
        #expect(try hub.store.aging(asOf: asOf, by: .due) == (try await agingFromCSV()))
    }

    @Test("a resumed run closes nothing: an invoice that moved across its cursor stays open, the next full run is the snapshot")
    func resumedRunIsNotASnapshot() async throws {
        let mock = try await QuickBooksOnlineMock(token: token)
        defer { mock.stop() }
        let hub = try PullHarness(mock: mock, pageSize: 7)
        _ = try await hub.run()
        let full = try hub.store.aging(asOf: asOf, by: .due)
        let requests = mock.queries.count
        mock.answer { n, _ in n == requests + 3 ? (503, [:], "{}") : nil }
        _ = try await hub.run(now: runTime.addingTimeInterval(3600))
        mock.answer(nil)
        // While the run waits, the first open invoice (Id 101) is paid: the 15th moves to 14th place,
        // before the cursor, and the resumed run never sees it.
        mock.update("Invoice", id: "101") { $0["Balance"] = 0 }
        let resumed = try await hub.run(now: runTime.addingTimeInterval(7200))
        #expect(resumed.resumed && resumed.rowsRead == 46)
        #expect(try hub.store.aging(asOf: asOf, by: .due) == full)
        let fresh = try await hub.run(now: runTime.addingTimeInterval(10800))
        #expect(!fresh.resumed && fresh.rowsRead == 46)
        #expect(try openMinor(hub.store, external: "invoice:101")! == (0, "closed"))
        let after = try #require(try hub.store.aging(asOf: asOf, by: .due).first)
        #expect(after.totalMinor == full[0].totalMinor - 193_074)
        #expect(after.count == 46)
    }

    @Test("a run resumed in the credit memos skips the invoices it already loaded")
    func resumeInALaterEntity() async throws {
        let mock = try await QuickBooksOnlineMock(token: token)
        defer { mock.stop() }
        let hub = try PullHarness(mock: mock, pageSize: 50)
        mock.answer { _, query in query.entity == "CreditMemo" ? (500, [:], "{}") : nil }
        let first = try await hub.run()
        #expect(first.rowsRead == 46)
        mock.answer(nil)
        let before = mock.queries.count
        let second = try await hub.run()
        #expect(second.resumed && second.rowsLoaded == 1 && second.rowsRead == 47)
        let resumed = Array(mock.queries.dropFirst(before))
        #expect(resumed.map(\.entity) == ["Invoice", "CreditMemo", "CreditMemo", "Payment"])
        #expect(resumed.filter { !$0.count }.map(\.entity) == ["CreditMemo", "Payment"])
    }

    @Test("a 401 is a failed run with the reason, never storing the token the server echoed")
    func unauthorizedIsAFailedRunWithoutTheSecret() async throws {
        let mock = try await QuickBooksOnlineMock(token: "the-right-token")
        defer { mock.stop() }
        let hub = try PullHarness(mock: mock)
        let report = try await hub.run()
        #expect(report.rowsLoaded == 0)
        let runs = try hub.runs()
        #expect(runs.map(\.status) == [.failed])
        let reason = try #require(runs[0].error)
        #expect(reason.contains("HTTP 401") && reason.contains("AuthenticationFailed") && reason.contains("[redacted]"))
        #expect(reason.hasSuffix("; nothing read yet: the next run starts again"), "\(reason)")
        for run in runs { #expect(!(run.error ?? "").contains(token)) }
    }

    @Test("a 429 waits for a short Retry-After, and fails the run with the reason when it is beyond max_wait")
    func throttlingIsHonoured() async throws {
        let mock = try await QuickBooksOnlineMock(token: token)
        defer { mock.stop() }
        let hub = try PullHarness(mock: mock, pageSize: 20, extra: "    max_wait: 2s")
        let throttled = #"{"Fault":{"Error":[{"Message":"message=ThrottleExceeded; errorCode=003001; statusCode=429","Detail":"The request limit was reached.","code":"3001"}],"type":"SERVICE"}}"#
        mock.answer { n, _ in n == 2 ? (429, ["Retry-After": "1"], throttled) : nil }
        let waited = try await hub.run()
        #expect(waited.rowsLoaded == 47)
        #expect(try hub.runs().map(\.status) == [.succeeded])

        mock.answer { _, _ in (429, ["Retry-After": "120"], throttled) }
        let refused = try await hub.run(now: runTime.addingTimeInterval(3600))
        #expect(refused.rowsLoaded == 0)
        let reason = try #require(try hub.runs().last?.error)
        #expect(reason.contains("throttled by QuickBooks (HTTP 429, Retry-After 2m)") && reason.contains("ThrottleExceeded"))
    }

    @Test("credentials must be environment references; an inline token is refused")
    func inlineTokenIsRefused() throws {
        let yaml = """
            connectors:
              qbo-ar:
                module: quickbooks-online
                realm_id: "123"
                headers:
                  Authorization: Bearer abc123
                schedule: hourly
            """
        do {
            _ = try HubConfig.parse(yaml: yaml, file: "test.yaml",
                                    context: ModuleContext(environment: [:], baseDirectory: URL(fileURLWithPath: "/tmp"),
                                                           transport: nil), registry: PullHarness.registry)
            Issue.record("accepted")
        } catch {
            #expect(error.problems.contains { $0.message.contains("Authorization holds a credential") })
            #expect(!"\(error)".contains("abc123"))
        }
    }
}

@Suite("quickbooks-online in a running hub", .serialized)
struct QuickBooksOnlineHubTests {
    /// A hub running one `quickbooks-online` connector against the mock, sending through the runtime's
    /// own HTTP client (the deferred transport it binds at start).
    private func withHub(_ mock: QuickBooksOnlineMock, _ body: (Store) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store.open(at: directory.path("hub.sqlite"), mode: .create(homeCurrency: "EUR"))
        let yaml = """
            server:
              listen: 127.0.0.1:0
            connectors:
              qbo-ar:
                module: quickbooks-online
                base_url: \(mock.baseURL)
                realm_id: "\(mock.realm)"
                page_size: 20
                headers:
                  Authorization: Bearer ${QBO_ACCESS_TOKEN}
                schedule: hourly
            """
        let config = try HubConfig.parse(yaml: yaml, file: "test.yaml", context: ModuleContext(
            environment: ["QBO_ACCESS_TOKEN": token], baseDirectory: directory.url, transport: nil),
            registry: PullHarness.registry)
        var logger = Logger(label: "qbo-hub")
        logger.logLevel = .critical
        let runtime = try HubRuntime(config: config, store: store, logger: logger)
        let ready = AsyncStream<Int>.makeStream()
        let task = Task {
            try? await runtime.run(handleSignals: false) { ready.continuation.yield($0) }
            ready.continuation.finish()
        }
        for await _ in ready.stream { break }
        do {
            try await body(store)
        } catch {
            await runtime.shutdown()
            _ = await task.value
            throw error
        }
        await runtime.shutdown()
        _ = await task.value
    }

    private func waitFor(_ condition: () throws -> Bool) async throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, try !condition() { try await Task.sleep(for: .milliseconds(50)) }
    }

    @Test("the scheduler runs the pull through the runtime's HTTP client and the aging matches the CSV import")
    func scheduledPullLoadsTheInvoices() async throws {
        let mock = try await QuickBooksOnlineMock(token: token)
        defer { mock.stop() }
        let csv = try await agingFromCSV()
        try await withHub(mock) { store in
            try await waitFor { try store.lastBatchRun(job: "qbo-ar")?.status == .succeeded }
            #expect(try store.lastBatchRun(job: "qbo-ar")?.rowsLoaded == 47)
            #expect(try store.aging(asOf: asOf, by: .due) == csv)
        }
    }

    @Test("a refused token fails the run once and waits for the schedule instead of asking again at once")
    func refusedTokenDoesNotHammer() async throws {
        let mock = try await QuickBooksOnlineMock(token: "another-token")
        defer { mock.stop() }
        try await withHub(mock) { store in
            try await waitFor { try store.lastBatchRun(job: "qbo-ar")?.status == .failed }
            try await Task.sleep(for: .seconds(6))
            #expect(mock.queries.count == 1)
            let runs = try store.batchRuns(limit: 10).sorted { $0.id < $1.id }
            #expect(runs.map(\.status) == [.failed])
            #expect(runs.allSatisfy { !($0.error ?? "").contains(token) })
        }
    }
}
