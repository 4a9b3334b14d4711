import Foundation
import PatchbayHub
@testable import PatchbayStore
import TestSupport
import Testing

/// A store with one QuickBooks source connector, removed when the test ends.
private struct InvoiceFixture {
    let store: Store
    let directory: TemporaryDirectory
    let source: ConnectorID

    init(connector: String = "quickbooks") throws {
        (store, directory) = try makeTestStore(homeCurrency: "EUR")
        source = try store.saveConnector(ConnectorSpec(
            name: connector, module: "quickbooks-csv", pattern: .batch, system: "QuickBooks", direction: .source)).id
    }

    func addSource(_ name: String) throws -> ConnectorID {
        try store.saveConnector(ConnectorSpec(
            name: name, module: "quickbooks-csv", pattern: .batch, system: "QuickBooks", direction: .source)).id
    }

    static func quickBooksRows(currency: String = "EUR") throws -> [InvoiceInput] {
        try InvoiceCSV.parse(Fixtures.data("quickbooks/ar-aging-detail.csv"), format: .quickbooks,
                             currency: currency, file: "ar-aging-detail.csv")
    }

    /// Every invoice of the store, for before/after comparisons.
    func allInvoices() throws -> [Invoice] {
        var all: [Invoice] = []
        for customer in try Set(Self.quickBooksRows().map(\.customer)).union(["Test Customer", "Other Customer"]) {
            all += try store.openInvoices(customer: customer)
        }
        return all.sorted { $0.id < $1.id }
    }
}

private func minor(_ text: String, _ currency: String = "EUR") throws -> Int64 {
    try Money.parseMinor(text, currency: currency)
}

private func input(_ id: String, customer: String = "Test Customer", currency: String = "EUR",
                   issue: String = "2026-11-01", due: String = "2026-11-30", total: Int64 = 10_000,
                   open: Int64 = 10_000, line: Int = 2) -> InvoiceInput {
    InvoiceInput(externalId: id, number: id, kind: .invoice, customer: customer, currency: currency,
                 issueDate: issue, dueDate: due, totalMinor: total, openMinor: open, line: line)
}

@Suite("Invoice import and aging")
struct InvoiceAgingTests {
    // MARK: Aging

    @Test func quickBooksFixtureAgesExactlyAsTheExpectedJSON() throws {
        let fixture = try InvoiceFixture()
        defer { fixture.directory.remove() }
        let json = try #require(try JSONSerialization.jsonObject(
            with: Fixtures.data("quickbooks/ar-aging-detail.expected.json")) as? [String: Any])
        let currency = try #require(json["currency"] as? String)
        let asOf = try #require(json["as_of"] as? String)
        #expect(json["aging_by"] as? String == "due date")
        let totals = try #require(json["totals"] as? [String: Any])
        let counts = try #require(json["counts"] as? [String: Any])
        // JSON numbers become Doubles; their shortest text ("21099.4") is the exact decimal written.
        func expectedMinor(_ value: Any?) throws -> Int64 {
            let number = try #require(value as? NSNumber)
            return try Money.parseMinor("\(number.doubleValue)", currency: currency)
        }

        _ = try fixture.store.importInvoices(InvoiceFixture.quickBooksRows(currency: currency),
                                             source: fixture.source, job: "import-ar")
        let aging = try fixture.store.aging(asOf: asOf, by: .due)

        #expect(aging.map(\.currency) == [currency])
        let report = try #require(aging.first)
        #expect(report.asOf == asOf)
        #expect(report.basis == .due)
        #expect(Set(report.buckets.keys) == Set(AgingBucket.allCases))
        #expect(Set(totals.keys) == Set(AgingBucket.allCases.map(\.rawValue)))
        for bucket in AgingBucket.allCases {
            #expect(report[bucket].amountMinor == (try expectedMinor(totals[bucket.rawValue])), "\(bucket.rawValue)")
            #expect(report[bucket].count == (counts[bucket.rawValue] as? Int), "\(bucket.rawValue)")
        }
        #expect(report.totalMinor == (try expectedMinor(json["total_open"])))
        #expect(report.count == counts.values.compactMap { $0 as? Int }.reduce(0, +))
        #expect(report.customers.map(\.totalMinor).reduce(0, +) == report.totalMinor)
    }

    @Test func bucketEdgesAreInclusive() {
        #expect(AgingBucket.bucket(daysPastDue: -5) == .current)
        #expect(AgingBucket.bucket(daysPastDue: 0) == .current)
        #expect(AgingBucket.bucket(daysPastDue: 1) == .days1to30)
        #expect(AgingBucket.bucket(daysPastDue: 30) == .days1to30)
        #expect(AgingBucket.bucket(daysPastDue: 31) == .days31to60)
        #expect(AgingBucket.bucket(daysPastDue: 60) == .days31to60)
        #expect(AgingBucket.bucket(daysPastDue: 61) == .days61to90)
        #expect(AgingBucket.bucket(daysPastDue: 90) == .days61to90)
        #expect(AgingBucket.bucket(daysPastDue: 91) == .over90)
        #expect(AgingBucket.bucket(daysPastDue: 10_000) == .over90)
    }

    @Test func customersAreBucketedAndSortedMostOverdueFirst() throws {
        let fixture = try InvoiceFixture()
        defer { fixture.directory.remove() }
        _ = try fixture.store.importInvoices(InvoiceFixture.quickBooksRows(), source: fixture.source, job: "import-ar")
        let report = try #require(try fixture.store.aging(asOf: "2026-11-30").first)

        // Hoffmann has the most in 91+; Fjällräven and Jade Dragon follow on 91+ amounts.
        #expect(report.customers.prefix(4).map(\.customer) ==
                ["Hoffmann Küchen GmbH", "Fjällräven Outpost AB", "Jade Dragon Tea House", "Lumen Studio"])
        // Kowalski, Atelier, Eastside and Granja have nothing in 91+: ordered by 61-90.
        #expect(report.customers[5...8].map(\.customer) ==
                ["Kowalski Deli", "Atelier Moreau SARL", "Eastside Grocers", "Granja Olmo"])
        #expect(report.customers.count == 12)

        // The EDGE rows sit exactly on the bucket boundaries (due 0, 30, 60, 90, 91 days ago).
        let lumen = try #require(report.customers.first { $0.customer == "Lumen Studio" })
        #expect(lumen[.current] == BucketTotal(amountMinor: try minor("100.00"), count: 1))
        #expect(lumen[.days1to30] == BucketTotal(amountMinor: try minor("2038.80"), count: 2))
        #expect(lumen[.days31to60] == BucketTotal(amountMinor: try minor("2373.74"), count: 2))
        #expect(lumen[.days61to90] == BucketTotal(amountMinor: try minor("2952.46"), count: 3))
        #expect(lumen[.over90] == BucketTotal(amountMinor: try minor("1450.58"), count: 2))
        #expect(lumen.totalMinor == (try minor("8915.58")))
        #expect(lumen.count == 10)
        #expect(lumen.maxDaysPastDue == 102)

        // The credit memo counts, negative, in 1-30 (due 11/10, 20 days before the as-of date).
        let eastside = try #require(report.customers.first { $0.customer == "Eastside Grocers" })
        #expect(eastside[.days1to30] == BucketTotal(amountMinor: -25_000, count: 1))
        #expect(eastside[.current] == BucketTotal())
        #expect(eastside.buckets.count == AgingBucket.allCases.count)
        #expect(eastside.totalMinor == (try minor("2677.68")))
    }

    @Test func agingByInvoiceDateUsesDaysSinceIssue() throws {
        let fixture = try InvoiceFixture()
        defer { fixture.directory.remove() }
        _ = try fixture.store.importInvoices(InvoiceFixture.quickBooksRows(), source: fixture.source, job: "import-ar")
        let report = try #require(try fixture.store.aging(asOf: "2026-11-30", by: .invoice).first)
        #expect(report.basis == .invoice)
        #expect(report[.current] == BucketTotal(amountMinor: try minor("5599.70"), count: 3))
        #expect(report[.days1to30] == BucketTotal(amountMinor: try minor("25164.45"), count: 14))
        #expect(report[.days31to60] == BucketTotal(amountMinor: try minor("10461.22"), count: 4))
        #expect(report[.days61to90] == BucketTotal(amountMinor: try minor("13596.62"), count: 7))
        #expect(report[.over90] == BucketTotal(amountMinor: try minor("31101.31"), count: 19))
        // The basis changes the buckets, never the total.
        #expect(report.totalMinor == (try minor("85923.30")))
    }

    @Test func agingNeverAddsTwoCurrencies() throws {
        let fixture = try InvoiceFixture(connector: "quickbooks-eu")
        defer { fixture.directory.remove() }
        let usSource = try fixture.addSource("quickbooks-us")
        _ = try fixture.store.importInvoices(InvoiceFixture.quickBooksRows(currency: "EUR"),
                                             source: fixture.source, job: "import-ar")
        _ = try fixture.store.importInvoices(
            [input("US-1", currency: "USD", due: "2026-10-15", total: 50_000, open: 50_000),
             input("US-2", currency: "USD", due: "2026-12-15", total: 7_000, open: 7_000, line: 3)],
            source: usSource, job: "import-ar")

        let aging = try fixture.store.aging(asOf: "2026-11-30")
        #expect(aging.map(\.currency) == ["EUR", "USD"])
        #expect(aging[0].totalMinor == (try minor("85923.30")))
        #expect(aging[1].totalMinor == 57_000)
        #expect(aging[1][.days31to60] == BucketTotal(amountMinor: 50_000, count: 1))
        #expect(aging[1][.current] == BucketTotal(amountMinor: 7_000, count: 1))
        #expect(aging[1][.over90] == BucketTotal())
        #expect(aging[1].customers.map(\.customer) == ["Test Customer"])
    }

    @Test func agingRejectsABadAsOfDate() throws {
        let fixture = try InvoiceFixture()
        defer { fixture.directory.remove() }
        for bad in ["2026-11-31", "30/11/2026", "2026-1-30", "", "2026-02-29"] {
            #expect(throws: StoreError.invalidInput("--as-of must be YYYY-MM-DD, got '\(bad)'")) {
                try fixture.store.aging(asOf: bad)
            }
        }
        #expect(try fixture.store.aging(asOf: "2028-02-29").isEmpty)
    }

    @Test func openInvoicesListsOldestDueFirst() throws {
        let fixture = try InvoiceFixture()
        defer { fixture.directory.remove() }
        _ = try fixture.store.importInvoices(InvoiceFixture.quickBooksRows(), source: fixture.source, job: "import-ar")
        let atelier = try fixture.store.openInvoices(customer: "Atelier Moreau SARL", currency: "EUR")
        #expect(atelier.map(\.number) == ["INV-1006", "INV-1001", "INV-1007", "INV-1003"])
        #expect(atelier.allSatisfy { $0.status == .open && $0.openMinor != 0 })
        #expect(try fixture.store.openInvoices(customer: "Atelier Moreau SARL", currency: "USD").isEmpty)
        #expect(try fixture.store.openInvoices(customer: "Nobody").isEmpty)
    }

    // MARK: Import

    @Test func reimportingTheSameFileChangesNothing() throws {
        let fixture = try InvoiceFixture()
        defer { fixture.directory.remove() }
        let rows = try InvoiceFixture.quickBooksRows()
        let first = try fixture.store.importInvoices(rows, source: fixture.source, job: "import-ar",
                                                     now: Date(millis: 1_000))
        #expect(first.inserted == 61 && first.updated == 0 && first.unchanged == 0 && first.closed == 0)
        #expect(first.rowsRead == 61)
        let before = try fixture.allInvoices()

        let second = try fixture.store.importInvoices(rows, source: fixture.source, job: "import-ar",
                                                      now: Date(millis: 2_000))
        #expect(second == InvoiceImportSummary(runId: second.runId, inserted: 0, updated: 0, unchanged: 61,
                                               closed: 0, rowsRead: 61))
        #expect(second.runId != first.runId)
        let after = try fixture.allInvoices()
        #expect(after == before)  // same rows, same ids, synced_at untouched
        #expect(after.count == 47)
        #expect(Set(after.map(\.externalId)).count == after.count)
    }

    @Test func aChangedOpenBalanceUpdatesOnlyThatInvoice() throws {
        let fixture = try InvoiceFixture()
        defer { fixture.directory.remove() }
        var rows = try InvoiceFixture.quickBooksRows()
        _ = try fixture.store.importInvoices(rows, source: fixture.source, job: "import-ar")
        let index = try #require(rows.firstIndex { $0.externalId == "INV-1006" })
        rows[index].openMinor = 93_074  // a 1,000.00 payment arrived

        let summary = try fixture.store.importInvoices(rows, source: fixture.source, job: "import-ar",
                                                       now: Date(millis: 5_000))
        #expect(summary.updated == 1 && summary.unchanged == 60 && summary.inserted == 0 && summary.closed == 0)
        let invoice = try #require(try fixture.store.openInvoices(customer: "Atelier Moreau SARL")
            .first { $0.externalId == "INV-1006" })
        #expect(invoice.openMinor == 93_074)
        #expect(invoice.totalMinor == 193_074)
        #expect(invoice.syncedAt == 5_000)

        // Paid in full: the status follows the balance.
        rows[index].openMinor = 0
        #expect(try fixture.store.importInvoices(rows, source: fixture.source, job: "import-ar").updated == 1)
        #expect(try fixture.store.openInvoices(customer: "Atelier Moreau SARL").contains { $0.externalId == "INV-1006" } == false)
    }

    @Test func aSnapshotWithoutAnOpenInvoiceClosesIt() throws {
        let fixture = try InvoiceFixture()
        defer { fixture.directory.remove() }
        let otherSource = try fixture.addSource("xero")
        _ = try fixture.store.importInvoices([input("X-1", customer: "Other Customer")], source: otherSource, job: "import-ar")
        let rows = try InvoiceFixture.quickBooksRows()
        _ = try fixture.store.importInvoices(rows, source: fixture.source, job: "import-ar")
        // Drop one open invoice (INV-1006) and one settled one (INV-1002) from the next export.
        let shorter = rows.filter { $0.externalId != "INV-1006" && $0.externalId != "INV-1002" }

        let partial = try fixture.store.importInvoices(shorter, source: fixture.source, job: "import-ar", snapshot: false)
        #expect(partial.closed == 0 && partial.unchanged == 59)
        #expect(try fixture.store.openInvoices(customer: "Atelier Moreau SARL").count == 4)

        let summary = try fixture.store.importInvoices(shorter, source: fixture.source, job: "import-ar")
        #expect(summary.closed == 1 && summary.unchanged == 59 && summary.inserted == 0 && summary.updated == 0)
        #expect(try fixture.store.openInvoices(customer: "Atelier Moreau SARL").map(\.number) ==
                ["INV-1001", "INV-1007", "INV-1003"])
        let report = try #require(try fixture.store.aging(asOf: "2026-11-30").first)
        #expect(report[.days61to90].amountMinor == (try minor("14457.18")) - 193_074)
        // Another source's invoices are not part of this snapshot.
        #expect(try fixture.store.openInvoices(customer: "Other Customer").count == 1)

        // Closing is idempotent, and a closed invoice that comes back is reopened.
        #expect(try fixture.store.importInvoices(shorter, source: fixture.source, job: "import-ar").closed == 0)
        let back = try fixture.store.importInvoices(rows, source: fixture.source, job: "import-ar")
        #expect(back.updated == 1 && back.closed == 0 && back.inserted == 0)
        #expect(try fixture.store.openInvoices(customer: "Atelier Moreau SARL").count == 4)
    }

    @Test func anInvalidRowRefusesTheWholeBatch() throws {
        let fixture = try InvoiceFixture()
        defer { fixture.directory.remove() }
        _ = try fixture.store.importInvoices([input("A-1")], source: fixture.source, job: "import-ar")
        let before = try fixture.allInvoices()
        let runsBefore = try fixture.store.batchRuns(limit: 100)

        let cases: [(InvoiceInput, String)] = [
            (input("B-9", due: "2026-02-30", line: 9), "line 9: due date '2026-02-30' is not a date (YYYY-MM-DD)"),
            (input("B-9", issue: "11/01/2026", line: 9), "line 9: issue date '11/01/2026' is not a date (YYYY-MM-DD)"),
            (input("B-9", currency: "euro", line: 9), "line 9: currency 'euro' is not an ISO 4217 code like EUR"),
            (input("B-9", customer: " ", line: 9), "line 9: the customer is empty"),
            (input("B-2", line: 9), "line 9: id 'B-2' already appears on line 3"),
        ]
        for (bad, message) in cases {
            // Good rows first, so a half-import would be visible.
            let batch = [input("A-1", open: 1, line: 2), input("B-2", line: 3), bad]
            #expect(throws: StoreError.invalidInput(message)) {
                try fixture.store.importInvoices(batch, source: fixture.source, job: "import-ar")
            }
        }
        #expect(try fixture.allInvoices() == before)
        #expect(try fixture.store.batchRuns(limit: 100) == runsBefore)
    }

    @Test func anUnknownSourceIsRefused() throws {
        let fixture = try InvoiceFixture()
        defer { fixture.directory.remove() }
        #expect(throws: StoreError.invalidInput("no connector with id 999")) {
            try fixture.store.importInvoices([input("A-1")], source: 999, job: "import-ar")
        }
        #expect(try fixture.store.batchRuns(limit: 10).isEmpty)
    }

    @Test func runsAreRecordedNewestFirstIncludingRefusedFiles() throws {
        let fixture = try InvoiceFixture()
        defer { fixture.directory.remove() }
        let summary = try fixture.store.importInvoices(
            [input("A-1"), input("A-2", line: 3)], source: fixture.source, job: "import-ar", now: Date(millis: 10_000))
        let failed = try fixture.store.recordFailedBatchRun(
            job: "import-ar", connector: fixture.source, rowsRead: 12,
            error: "ar.csv:14: Due Date '13/45/2026' is not a date (MM/DD/YYYY)", now: Date(millis: 20_000))

        let runs = try fixture.store.batchRuns(limit: 10)
        #expect(runs.map(\.id) == [failed, summary.runId])
        #expect(runs[0].status == .failed)
        #expect(runs[0].error == "ar.csv:14: Due Date '13/45/2026' is not a date (MM/DD/YYYY)")
        #expect(runs[0].rowsRead == 12 && runs[0].rowsLoaded == 0 && runs[0].rowsRejected == 12)
        #expect(runs[1].status == .succeeded)
        #expect(runs[1].job == "import-ar" && runs[1].connectorId == fixture.source)
        #expect(runs[1].startedAt == 10_000 && (runs[1].finishedAt ?? 0) >= 10_000)
        #expect(runs[1].rowsRead == 2 && runs[1].rowsLoaded == 2 && runs[1].rowsRejected == 0)
        #expect(try fixture.store.batchRuns(limit: 1).map(\.id) == [failed])
    }

    // MARK: Money

    @Test func moneyParsesExactly() throws {
        #expect(try Money.parseMinor("1930.74", currency: "EUR") == 193_074)
        #expect(try Money.parseMinor("1,930.74", currency: "EUR") == 193_074)
        #expect(try Money.parseMinor("1,234,567.89", currency: "USD") == 123_456_789)
        #expect(try Money.parseMinor("-250.00", currency: "EUR") == -25_000)
        #expect(try Money.parseMinor("(250.00)", currency: "EUR") == -25_000)
        #expect(try Money.parseMinor("  12.5 ", currency: "EUR") == 1_250)
        #expect(try Money.parseMinor("0", currency: "EUR") == 0)
        #expect(try Money.parseMinor("-0.00", currency: "EUR") == 0)
        #expect(try Money.parseMinor("0.10", currency: "EUR") == 10)
        #expect(try Money.parseMinor("1930", currency: "JPY") == 1_930)
        #expect(try Money.parseMinor("1,930", currency: "jpy") == 1_930)
        #expect(try Money.parseMinor("1.234", currency: "KWD") == 1_234)
        #expect(try Money.parseMinor("1.2", currency: "KWD") == 1_200)
        #expect(try Money.parseMinor("92233720368547758.07", currency: "EUR") == Int64.max)
        #expect(try Money.parseMinor("-92233720368547758.07", currency: "EUR") == -Int64.max)
    }

    @Test func moneyRefusesWhatIsNotExact() {
        let bad: [(String, String, String)] = [
            ("", "EUR", "it is empty"),
            ("   ", "EUR", "it is empty"),
            ("1.234", "EUR", "EUR takes 2 decimals, not 3"),
            ("1930.5", "JPY", "JPY takes 0 decimals, not 1"),
            ("1.2345", "KWD", "KWD takes 3 decimals, not 4"),
            ("€12.00", "EUR", "expected digits, '-', '.', ',' or parentheses"),
            ("12.00 EUR", "EUR", "expected digits after the decimal point"),
            ("abc", "EUR", "expected digits, '-', '.', ',' or parentheses"),
            ("1,93.74", "EUR", "thousands separators must group digits by three"),
            ("1930,74", "EUR", "thousands separators must group digits by three"),
            ("1,,930", "EUR", "thousands separators must group digits by three"),
            ("1.", "EUR", "no digits after the decimal point"),
            (".5", "EUR", "no digits before the decimal point"),
            ("-", "EUR", "no digits before the decimal point"),
            ("--5", "EUR", "expected digits, '-', '.', ',' or parentheses"),
            ("(-5)", "EUR", "expected digits, '-', '.', ',' or parentheses"),
            ("1e5", "EUR", "expected digits, '-', '.', ',' or parentheses"),
            ("1.2.3", "EUR", "expected digits after the decimal point"),
            ("92233720368547758.08", "EUR", "too large"),
            ("99999999999999999999", "JPY", "too large"),
        ]
        for (text, currency, reason) in bad {
            #expect(throws: MoneyError(text: text, reason: reason), "\(text) \(currency)") {
                try Money.parseMinor(text, currency: currency)
            }
        }
        #expect(MoneyError(text: "1,93.74", reason: "x").description == "'1,93.74' is not an amount: x")
    }

    @Test func moneyFormatsWithTheCurrencysDecimals() throws {
        #expect(Money.format(minor: 193_074, currency: "EUR") == "1930.74")
        #expect(Money.format(minor: -25_000, currency: "EUR") == "-250.00")
        #expect(Money.format(minor: 0, currency: "EUR") == "0.00")
        #expect(Money.format(minor: 5, currency: "USD") == "0.05")
        #expect(Money.format(minor: -5, currency: "USD") == "-0.05")
        #expect(Money.format(minor: 1_930, currency: "JPY") == "1930")
        #expect(Money.format(minor: -1_930, currency: "JPY") == "-1930")
        #expect(Money.format(minor: 1_234, currency: "KWD") == "1.234")
        #expect(Money.format(minor: 7, currency: "KWD") == "0.007")
        #expect(Money.format(minor: Int64.min, currency: "EUR") == "-92233720368547758.08")
        #expect(Money.formatGrouped(minor: 193_074, currency: "EUR") == "1,930.74")
        #expect(Money.formatGrouped(minor: -123_456_789, currency: "EUR") == "-1,234,567.89")
        #expect(Money.formatGrouped(minor: 99_999, currency: "EUR") == "999.99")
        #expect(Money.formatGrouped(minor: 1_000_000, currency: "JPY") == "1,000,000")
        #expect(Money.formatGrouped(minor: 0, currency: "KWD") == "0.000")
        // What format writes, parseMinor reads back.
        for value: Int64 in [0, 1, -1, 99, 100, 193_074, -25_000, Int64.max, -Int64.max] {
            for currency in ["EUR", "JPY", "KWD"] {
                #expect(try Money.parseMinor(Money.format(minor: value, currency: currency), currency: currency) == value)
                #expect(try Money.parseMinor(Money.formatGrouped(minor: value, currency: currency), currency: currency) == value)
            }
        }
    }

    @Test func currencyCodesAndExponents() {
        #expect(Currency.exponent(of: "EUR") == 2)
        #expect(Currency.exponent(of: "USD") == 2)
        #expect(Currency.exponent(of: "HUF") == 2)
        #expect(Currency.exponent(of: "JPY") == 0)
        #expect(Currency.exponent(of: "KRW") == 0)
        #expect(Currency.exponent(of: "XOF") == 0)
        #expect(Currency.exponent(of: "KWD") == 3)
        #expect(Currency.exponent(of: "TND") == 3)
        #expect(Currency.exponent(of: "CLF") == 4)
        #expect(Currency.isValidCode("EUR"))
        #expect(!Currency.isValidCode("eur"))
        #expect(!Currency.isValidCode("EU"))
        #expect(!Currency.isValidCode("EURO"))
        #expect(!Currency.isValidCode("É12"))
        #expect(!Currency.isValidCode(""))
    }

    @Test func civilDatesAreStrict() {
        #expect(CivilDate.dayNumber("1970-01-01") == 0)
        #expect(CivilDate.dayNumber("2026-11-30")! - CivilDate.dayNumber("2026-08-31")! == 91)
        #expect(CivilDate.dayNumber("2025-01-01")! - CivilDate.dayNumber("2024-01-01")! == 366)
        #expect(CivilDate.dayNumber("2024-02-29") != nil)
        #expect(CivilDate.dayNumber("2100-02-29") == nil)
        #expect(CivilDate.dayNumber("2000-02-29") != nil)
        #expect(CivilDate.dayNumber("2026-13-01") == nil)
        #expect(CivilDate.dayNumber("2026-00-10") == nil)
        #expect(CivilDate.dayNumber("2026-1-01") == nil)
        #expect(CivilDate.dayNumber("2026-01-01T00:00") == nil)
        #expect(CivilDate.iso(year: 2026, month: 3, day: 7) == "2026-03-07")
        #expect(CivilDate.iso(year: 2026, month: 4, day: 31) == nil)
    }
}

@Suite("The aging report kept between refreshes")
struct AgingCacheTests {
    @Test("agingCached equals aging, and follows an import, another day and another basis")
    func cachedAgingFollowsChanges() throws {
        let fixture = try InvoiceFixture()
        defer { fixture.directory.remove() }
        let store = fixture.store
        func version() throws -> String? {
            try store.read { db in try String.fetchOne(db, sql: "SELECT value FROM settings WHERE key = 'invoices_version'") }
        }
        #expect(try version() == "0")
        #expect(try store.agingCached(asOf: "2026-11-25").isEmpty)

        _ = try store.importInvoices(InvoiceFixture.quickBooksRows(), source: fixture.source, job: "import-ar")
        let afterImport = try #require(try version())
        #expect(afterImport != "0", "an import moves the version")
        let cached = try store.agingCached(asOf: "2026-11-25")
        #expect(!cached.isEmpty, "the import is seen, not the empty report kept from before")
        #expect(cached == (try store.aging(asOf: "2026-11-25")))
        #expect(try store.agingCached(asOf: "2026-11-25") == cached)
        #expect(try store.agingCached(asOf: "2026-12-31") == (try store.aging(asOf: "2026-12-31")))
        #expect(try store.agingCached(asOf: "2026-12-31", by: .invoice) == (try store.aging(asOf: "2026-12-31", by: .invoice)))

        // Settling every invoice by hand (any write to the table) moves the version too.
        try store.writer.write { db in try db.execute(sql: "UPDATE invoices SET open_minor = 0, status = 'paid'") }
        #expect(try version() != afterImport)
        #expect(try store.agingCached(asOf: "2026-12-31", by: .invoice).isEmpty)
    }
}
