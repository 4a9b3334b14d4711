import Crypto
import Foundation
import GRDB
import Logging
import PatchbayHub
@testable import PatchbayStore
import Testing
import TestSupport
@testable import PatchbayConnectors

// MARK: - Helpers

private let arFixture = Fixtures.url("quickbooks/ar-aging-detail.csv")
private let runTime = Date(timeIntervalSince1970: 1_795_000_000)

/// A store, its directory, and one batch connector; removed at deinit.
private final class BatchHarness: @unchecked Sendable {
    let store: Store
    let directory: TemporaryDirectory
    let connector: Connector

    init(name: String = "ar", module: String = "quickbooks-csv") throws {
        (store, directory) = try makeTestStore(homeCurrency: "EUR")
        connector = try store.saveConnector(ConnectorSpec(name: name, module: module, pattern: .batch, system: "QuickBooks",
                                                          direction: .source))
    }

    deinit { directory.remove() }

    func context(now: Date = runTime, targets: @escaping @Sendable (String) -> [DeliveryTarget] = { _ in [] }) -> BatchContext {
        BatchContext(store: store, connector: connector, now: now, logger: Logger(label: "batch-test"), targets: targets)
    }

    /// Writes `text` as a file in the harness directory.
    func file(_ name: String, _ text: String) throws -> URL {
        let url = directory.url.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url
    }

    /// The fixture copied under `name`, with `edit` applied to its lines (header included).
    func fixtureCopy(_ name: String = "ar.csv", edit: (inout [String]) -> Void = { _ in }) throws -> URL {
        // The export has CRLF line ends (one Character each): split on any line end, keep CRLF.
        var lines = String(decoding: try Data(contentsOf: arFixture), as: UTF8.self)
            .split(whereSeparator: \.isNewline).map(String.init)
        edit(&lines)
        return try file(name, lines.joined(separator: "\r\n") + "\r\n")
    }

    /// Every invoice of a source, without the columns that differ between equal imports.
    func invoices(source: ConnectorID? = nil) throws -> [InvoiceSnapshot] {
        let id = source ?? connector.id
        return try store.read { db in
            try Invoice.fetchAll(db, sql: "SELECT * FROM invoices WHERE source_id = ? ORDER BY external_id", arguments: [id])
        }.map(InvoiceSnapshot.init)
    }

    func runs() throws -> [BatchRun] { try store.batchRuns(limit: 100).sorted { $0.id < $1.id } }
}

private struct InvoiceSnapshot: Equatable, CustomStringConvertible {
    var externalId: String
    var number: String
    var kind: InvoiceKind
    var customer: String
    var currency: String
    var issueDate: String
    var dueDate: String
    var totalMinor: Int64
    var openMinor: Int64
    var status: InvoiceStatus

    init(_ invoice: Invoice) {
        externalId = invoice.externalId
        number = invoice.number
        kind = invoice.kind
        customer = invoice.customer
        currency = invoice.currency
        issueDate = invoice.issueDate
        dueDate = invoice.dueDate
        totalMinor = invoice.totalMinor
        openMinor = invoice.openMinor
        status = invoice.status
    }

    var description: String { "\(number) \(currency) \(openMinor) \(status)" }
}

/// The `input` a job records for a file: its name and the start of its SHA-256.
private func batchInput(for file: URL) throws -> String {
    let digest = SHA256.hash(data: try Data(contentsOf: file)).map { String(format: "%02x", $0) }.joined()
    return "\(file.lastPathComponent)#sha256:\(digest.prefix(16))"
}

private func parsedFixture(_ file: URL) throws -> [InvoiceInput] {
    try InvoiceCSV.parse(try Data(contentsOf: file), format: .quickbooks, currency: "EUR", file: file.lastPathComponent)
}

// MARK: - Invoice export

@Suite("Invoice export batch job")
struct InvoiceExportJobTests {
    static let rowCount = 61

    @Test func loadsEverythingAndSucceeds() async throws {
        let h = try BatchHarness()
        let file = try h.fixtureCopy()
        let job = InvoiceExportJob(file: file, format: .quickbooks, currency: "EUR", chunkSize: 7)
        let report = try await job.run(h.context())

        let runId = try #require(report.runId)
        #expect(report == BatchReport(runId: runId, rowsRead: Self.rowCount, rowsLoaded: Self.rowCount, rowsRejected: 0))

        let runs = try h.runs()
        #expect(runs.count == 1)
        let run = try #require(runs.first)
        #expect(run.id == runId)
        #expect(run.job == "ar")
        #expect(run.connectorId == h.connector.id)
        #expect(run.status == .succeeded)
        #expect(run.rowsRead == Self.rowCount)
        #expect(run.rowsLoaded == Self.rowCount)
        #expect(run.rowsRejected == 0)
        #expect(run.cursor == String(Self.rowCount))
        #expect(run.input == (try batchInput(for: file)))
        #expect(run.startedAt == runTime.millis)
        #expect(run.finishedAt == runTime.millis)

        let invoices = try h.invoices()
        #expect(invoices.count == Self.rowCount)
        #expect(invoices.allSatisfy { $0.currency == "EUR" })
        let first = try #require(invoices.first { $0.number == "INV-1006" })
        #expect(first.customer == "Atelier Moreau SARL")
        #expect(first.totalMinor == 193_074)
        #expect(first.openMinor == 193_074)
        #expect(first.status == .open)
        #expect(first.issueDate == "2026-08-15")
        #expect(first.dueDate == "2026-09-14")
        #expect(invoices.first { $0.number == "INV-1002" }?.status == .paid)
        let memo = try #require(invoices.first { $0.number == "CM-2001" })
        #expect(memo.kind == .creditMemo)
        #expect(memo.openMinor == -25_000)

        // The aging the fixture's expected file gives.
        let aging = try #require(try h.store.aging(asOf: "2026-11-30").first { $0.currency == "EUR" })
        #expect(aging.totalMinor == 8_592_330)
        #expect(aging[.current] == BucketTotal(amountMinor: 2_109_940, count: 11))
        #expect(aging[.days1to30] == BucketTotal(amountMinor: 1_899_741, count: 9))
        #expect(aging[.days31to60] == BucketTotal(amountMinor: 1_646_188, count: 10))
        #expect(aging[.days61to90] == BucketTotal(amountMinor: 1_445_718, count: 10))
        #expect(aging[.over90] == BucketTotal(amountMinor: 1_490_743, count: 7))
    }

    @Test func secondRunOfAnUnchangedFileIsSkipped() async throws {
        let h = try BatchHarness()
        let file = try h.fixtureCopy()
        let job = InvoiceExportJob(file: file, format: .quickbooks, currency: "EUR", chunkSize: 50)
        let first = try await job.run(h.context())
        let before = try h.invoices()

        let second = try await job.run(h.context(now: runTime.addingTimeInterval(3600)))
        #expect(second.runId == nil)
        #expect(second.rowsRead == 0)
        #expect(second.rowsLoaded == 0)
        #expect(second.skipped == "ar.csv has not changed since run \(first.runId!)")
        #expect(try h.runs().count == 1)
        #expect(try h.invoices() == before)
    }

    @Test func changedFileClosesWhatItNoLongerListsOnlyInItsCurrency() async throws {
        let h = try BatchHarness()
        let other = try h.store.saveConnector(ConnectorSpec(name: "other-ar", module: "xero-csv", pattern: .batch,
                                                            system: "Xero", direction: .source))
        let file = try h.fixtureCopy()
        let job = InvoiceExportJob(file: file, format: .quickbooks, currency: "EUR", chunkSize: 10)
        _ = try await job.run(h.context())

        // The same source's USD invoice (another export speaks for USD), and another source's EUR one.
        let usd = InvoiceInput(externalId: "USD-1", number: "USD-1", kind: .invoice, customer: "Acme Inc", currency: "USD",
                               issueDate: "2026-10-01", dueDate: "2026-10-31", totalMinor: 10_000, openMinor: 10_000, line: 2)
        _ = try h.store.importInvoices([usd], source: h.connector.id, job: "manual", snapshot: false)
        var elsewhere = usd
        (elsewhere.externalId, elsewhere.number, elsewhere.currency) = ("EUR-X", "EUR-X", "EUR")
        _ = try h.store.importInvoices([elsewhere], source: other.id, job: "manual-other", snapshot: false)

        // INV-1006 (open) and INV-1002 (paid) disappear; INV-1001 is now paid.
        let changed = try h.fixtureCopy { lines in
            lines.removeAll { $0.contains(",INV-1006,") || $0.contains(",INV-1002,") }
            lines = lines.map { $0.contains(",INV-1001,") ? #"11/02/2026,Invoice,INV-1001,Atelier Moreau SARL,11/16/2026,"3,135.19",0.00"# : $0 }
        }
        #expect(changed == file)
        let report = try await job.run(h.context(now: runTime.addingTimeInterval(3600)))
        #expect(report.skipped == nil)
        #expect(report.rowsRead == Self.rowCount - 2)
        #expect(report.rowsLoaded == Self.rowCount - 2)
        #expect(report.resumed == false)

        let invoices = try h.invoices()
        let byNumber = Dictionary(uniqueKeysWithValues: invoices.map { ($0.number, $0) })
        #expect(byNumber["INV-1006"]?.status == .closed)
        #expect(byNumber["INV-1006"]?.openMinor == 0)
        // Settled already: it keeps its status.
        #expect(byNumber["INV-1002"]?.status == .paid)
        #expect(byNumber["INV-1001"]?.status == .paid)
        #expect(byNumber["INV-1001"]?.openMinor == 0)
        #expect(byNumber["INV-1003"]?.status == .open)
        #expect(byNumber["USD-1"]?.status == .open)
        #expect(byNumber["USD-1"]?.openMinor == 10_000)
        #expect(try h.invoices(source: other.id).map(\.status) == [.open])
        #expect(invoices.filter { $0.status == .closed }.map(\.number) == ["INV-1006"])
    }

    @Test func fileWithABadRowIsRefusedWithItsLine() async throws {
        let h = try BatchHarness()
        let file = try h.fixtureCopy { lines in
            // Line 10: INV-1010, due 11/02/2026.
            lines[9] = lines[9].replacingOccurrences(of: "11/02/2026", with: "13/45/2026")
        }
        #expect(try String(contentsOf: file, encoding: .utf8).contains("13/45/2026"))
        let job = InvoiceExportJob(file: file, format: .quickbooks, currency: "EUR", chunkSize: 5)
        let report = try await job.run(h.context())
        let runId = try #require(report.runId)
        #expect(report.rowsLoaded == 0)
        #expect(report.rowsRead == 0)

        let run = try #require(try h.runs().last)
        #expect(run.id == runId)
        #expect(run.status == .failed)
        #expect(run.rowsLoaded == 0)
        let error = try #require(run.error)
        #expect(error.hasPrefix("ar.csv:10: "), "\(error)")
        #expect(error.contains("13/45/2026"))
        #expect(try h.invoices().isEmpty)

        // A failed run is not a reason to skip: the same file is checked again, and refused again.
        let again = try await job.run(h.context())
        #expect(again.skipped == nil)
        #expect(try h.runs().filter { $0.status == .failed }.count == 2)
    }

    @Test func badFileAfterAGoodOneLeavesTheLoadedInvoicesAlone() async throws {
        let h = try BatchHarness()
        let file = try h.fixtureCopy()
        let job = InvoiceExportJob(file: file, format: .quickbooks, currency: "EUR")
        _ = try await job.run(h.context())
        let before = try h.invoices()
        _ = try h.fixtureCopy { lines in
            lines.removeAll { $0.contains(",INV-1006,") }
            lines[3] = "not,a,valid,row"
        }
        let report = try await job.run(h.context())
        #expect(report.rowsLoaded == 0)
        #expect(try h.runs().last?.status == .failed)
        // Nothing closed, nothing changed.
        #expect(try h.invoices() == before)
    }

    @Test func crashedRunResumesAndEqualsACleanImport() async throws {
        let h = try BatchHarness()
        let file = try h.fixtureCopy()
        let invoices = try parsedFixture(file)
        #expect(invoices.count == Self.rowCount)

        // The crash: a run over this input committed its first chunk of 10, then the process died.
        let input = try batchInput(for: file)
        let crashed = try h.store.beginBatchRun(job: "ar", connector: h.connector.id, input: input, now: runTime)
        #expect(crashed.resumed == false)
        try h.store.loadInvoiceChunk(Array(invoices[0..<10]), run: crashed.runId, source: h.connector.id, cursor: 10,
                                     now: runTime)

        let job = InvoiceExportJob(file: file, format: .quickbooks, currency: "EUR", chunkSize: 10)
        let report = try await job.run(h.context(now: runTime.addingTimeInterval(60)))
        #expect(report == BatchReport(runId: crashed.runId, rowsRead: Self.rowCount, rowsLoaded: Self.rowCount - 10,
                                      rowsRejected: 0, resumed: true))
        let runs = try h.runs()
        #expect(runs.count == 1)
        #expect(runs.first?.status == .succeeded)
        #expect(runs.first?.rowsLoaded == Self.rowCount)
        #expect(runs.first?.rowsRead == Self.rowCount)

        // The same as a clean import into a fresh store.
        let clean = try BatchHarness()
        let cleanFile = try clean.fixtureCopy()
        _ = try await InvoiceExportJob(file: cleanFile, format: .quickbooks, currency: "EUR", chunkSize: 10).run(clean.context())
        let resumed = try h.invoices()
        #expect(resumed.count == Self.rowCount)
        #expect(resumed == (try clean.invoices()))
        // Every invoice was seen by the one run: none was closed as "no longer listed".
        #expect(!resumed.contains { $0.status == .closed })
        // And a run after it is skipped, as after any success.
        #expect(try await job.run(h.context()).skipped != nil)
    }

    @Test func crashedRunOverAnOlderFileIsAbandoned() async throws {
        let h = try BatchHarness()
        let stale = try h.store.beginBatchRun(job: "ar", connector: h.connector.id, input: "ar.csv#sha256:0000000000000000",
                                              now: runTime)
        let file = try h.fixtureCopy()
        let report = try await InvoiceExportJob(file: file, format: .quickbooks, currency: "EUR").run(h.context())
        #expect(report.resumed == false)
        #expect(report.runId != stale.runId)
        #expect(report.rowsLoaded == Self.rowCount)
        let runs = try h.runs()
        #expect(runs.map(\.status) == [.failed, .succeeded])
        #expect(runs.first?.error?.hasPrefix("abandoned") == true)
    }

    @Test func missingFileIsSkippedWithoutARun() async throws {
        let h = try BatchHarness()
        let job = InvoiceExportJob(file: h.directory.url.appendingPathComponent("none.csv"), format: .quickbooks,
                                   currency: "EUR")
        let report = try await job.run(h.context())
        #expect(report.runId == nil)
        #expect(report.skipped?.hasPrefix("no file at") == true)
        #expect(try h.runs().isEmpty)
    }
}

// MARK: - CSV events

@Suite("CSV events batch job")
struct CSVEventsJobTests {
    static let stock = """
        sku,qty,warehouse
        POT-1,5,A
        POT-2,0,B
        "MUG, large",12,A

        """

    private func harness() throws -> (BatchHarness, Connector) {
        let h = try BatchHarness(name: "erp", module: "csv-events")
        let sink = try h.store.saveConnector(ConnectorSpec(name: "inventory", module: "http", pattern: .event,
                                                           system: "Inventory", direction: .sink, maxAttempts: 5))
        return (h, sink)
    }

    private func targets(_ sink: Connector) -> @Sendable (String) -> [DeliveryTarget] {
        let id = sink.id
        return { topic in topic == "stock_changed" ? [DeliveryTarget(connectorId: id, maxAttempts: 5)] : [] }
    }

    private func events(_ store: Store) throws -> [Event] {
        try store.events(EventFilter(topic: "stock_changed"), limit: 100).events.map(\.event).sorted { $0.id < $1.id }
    }

    @Test func rowsBecomeEventsWithDeliveriesToTheTopicsSubscribers() async throws {
        let (h, sink) = try harness()
        let file = try h.file("stock.csv", Self.stock)
        let job = CSVEventsJob(file: file, topic: "stock_changed", chunkSize: 2, keyColumn: "sku")
        let report = try await job.run(h.context(targets: targets(sink)))
        let runId = try #require(report.runId)
        #expect(report == BatchReport(runId: runId, rowsRead: 3, rowsLoaded: 3, rowsRejected: 0))

        let stored = try events(h.store)
        #expect(stored.map(\.payload) == [
            #"{"qty":"5","sku":"POT-1","warehouse":"A"}"#,
            #"{"qty":"0","sku":"POT-2","warehouse":"B"}"#,
            #"{"qty":"12","sku":"MUG, large","warehouse":"A"}"#,
        ])
        let input = try batchInput(for: file)
        #expect(stored.map(\.idempotencyKey) == ["\(input):POT-1", "\(input):POT-2", "\(input):MUG, large"])
        #expect(stored.allSatisfy { $0.sourceId == h.connector.id && $0.topic == "stock_changed" })
        #expect(try h.store.eventCount(source: h.connector.id) == 3)
        let deliveries = try h.store.deliveries(connector: sink.id)
        #expect(deliveries.count == 3)
        #expect(deliveries.allSatisfy { $0.state == .pending && $0.maxAttempts == 5 })

        let run = try #require(try h.runs().last)
        #expect(run.status == .succeeded)
        #expect(run.rowsRead == 3)
        #expect(run.input == input)

        // Unchanged: skipped.
        let again = try await job.run(h.context(targets: targets(sink)))
        #expect(again.skipped?.contains("has not changed") == true)
        #expect(try h.store.eventCount(source: h.connector.id) == 3)
    }

    @Test func rowsWithoutAKeyColumnAreKeyedByLine() async throws {
        let (h, sink) = try harness()
        let file = try h.file("stock.csv", Self.stock)
        _ = try await CSVEventsJob(file: file, topic: "stock_changed").run(h.context(targets: targets(sink)))
        let input = try batchInput(for: file)
        #expect(try events(h.store).map(\.idempotencyKey) == ["\(input):line-2", "\(input):line-3", "\(input):line-4"])
    }

    @Test func aRepeatedChunkDoesNotDoubleEvents() async throws {
        let (h, sink) = try harness()
        let file = try h.file("stock.csv", Self.stock)
        let input = try batchInput(for: file)

        // The crash: the first chunk (2 rows) was ingested, the process died before the cursor moved.
        let crashed = try h.store.beginBatchRun(job: "erp", connector: h.connector.id, input: input, now: runTime)
        let firstChunk = [("POT-1", #"{"qty":"5","sku":"POT-1","warehouse":"A"}"#),
                          ("POT-2", #"{"qty":"0","sku":"POT-2","warehouse":"B"}"#)].map { key, payload in
            NewEvent(topic: "stock_changed", sourceId: h.connector.id, idempotencyKey: "\(input):\(key)", payload: payload,
                     targets: [DeliveryTarget(connectorId: sink.id, maxAttempts: 5)])
        }
        _ = try h.store.ingest(firstChunk)

        let job = CSVEventsJob(file: file, topic: "stock_changed", chunkSize: 2, keyColumn: "sku")
        let report = try await job.run(h.context(targets: targets(sink)))
        #expect(report.runId == crashed.runId)
        #expect(report.resumed)
        #expect(report.rowsRead == 3)
        #expect(report.rowsLoaded == 1)
        #expect(try h.store.eventCount(source: h.connector.id) == 3)
        #expect(try h.store.deliveries(connector: sink.id).count == 3)
        #expect(try h.runs().map(\.status) == [.succeeded])
    }

    @Test func aCompleteRerunOfTheSameInputStoresNothingNew() async throws {
        let (h, sink) = try harness()
        let file = try h.file("stock.csv", Self.stock)
        let job = CSVEventsJob(file: file, topic: "stock_changed", chunkSize: 1)
        _ = try await job.run(h.context(targets: targets(sink)))
        // A run over the same input that never moved its cursor (as after a crash right after starting).
        let restarted = try h.store.beginBatchRun(job: "erp", connector: h.connector.id, input: try batchInput(for: file))
        let report = try await job.run(h.context(targets: targets(sink)))
        #expect(report.runId == restarted.runId)
        #expect(report.rowsLoaded == 0)
        #expect(try h.store.eventCount(source: h.connector.id) == 3)
        #expect(try h.store.deliveries(connector: sink.id).count == 3)
    }

    @Test func rowOfTheWrongWidthIsRejectedAndCounted() async throws {
        let (h, sink) = try harness()
        let file = try h.file("stock.csv", """
            sku,qty,warehouse
            POT-1,5,A
            POT-2,0
            POT-3,1,B,extra
            POT-4,7,C

            """)
        let report = try await CSVEventsJob(file: file, topic: "stock_changed", chunkSize: 2, keyColumn: "sku")
            .run(h.context(targets: targets(sink)))
        #expect(report.rowsRead == 4)
        #expect(report.rowsLoaded == 2)
        #expect(report.rowsRejected == 2)
        #expect(try events(h.store).map { $0.idempotencyKey.components(separatedBy: ":").last } == ["POT-1", "POT-4"])
        #expect(try h.store.deliveries(connector: sink.id).count == 2)

        let run = try #require(try h.runs().last)
        #expect(run.status == .succeeded)
        #expect(run.rowsRejected == 2)
        #expect(run.error == "2 rows rejected: line 3: 2 fields, the header has 3; line 4: 4 fields, the header has 3")
    }

    @Test func emptyOrInvalidFilesAreFailedRuns() async throws {
        let (h, _) = try harness()
        let empty = try h.file("empty.csv", "\n\n")
        let report = try await CSVEventsJob(file: empty, topic: "t").run(h.context())
        #expect(report.runId != nil)
        #expect(try h.runs().last?.error == "empty.csv: the file is empty")

        let broken = try h.file("broken.csv", "a,b\n\"unterminated,1\n")
        _ = try await CSVEventsJob(file: broken, topic: "t").run(h.context())
        let run = try #require(try h.runs().last)
        #expect(run.status == .failed)
        #expect(run.error?.hasPrefix("broken.csv: line 2") == true, "\(run.error ?? "")")
        #expect(try h.store.eventCount(source: h.connector.id) == 0)
    }

    @Test func missingFileIsSkipped() async throws {
        let (h, _) = try harness()
        let report = try await CSVEventsJob(file: h.directory.url.appendingPathComponent("none.csv"), topic: "t")
            .run(h.context())
        #expect(report.runId == nil)
        #expect(report.skipped?.hasPrefix("no file at") == true)
    }
}
