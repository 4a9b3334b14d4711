import Foundation
import PatchbayHub
import PatchbayStore
import TestSupport
import Testing

private let quickBooksFile = "ar-aging-detail.csv"

private func quickBooksLines() throws -> [String] {
    let text = try #require(String(data: Fixtures.data("quickbooks/ar-aging-detail.csv"), encoding: .utf8))
    return splitLines(text)
}

/// The lines of a text with LF or CRLF line ends ("\r\n" is one Character).
private func splitLines(_ text: String) -> [String] {
    var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
    if lines.last == "" { lines.removeLast() }
    return lines
}

/// The 1-based line of the fixture that contains `marker`.
private func line(of marker: String, in lines: [String]) throws -> Int {
    try #require(lines.firstIndex { $0.contains(marker) }) + 1
}

private func parseQuickBooks(_ lines: [String], separator: String = "\n", currency: String = "EUR") throws -> [InvoiceInput] {
    try InvoiceCSV.parse(Data((lines.joined(separator: separator) + separator).utf8), format: .quickbooks,
                         currency: currency, file: quickBooksFile)
}

/// What `parse` threw, or nil.
private func parseError(_ body: () throws -> Any) -> InvoiceCSVError? {
    do {
        _ = try body()
        return nil
    } catch let error as InvoiceCSVError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

// MARK: - CSVReader

@Suite("CSV reader")
struct CSVReaderTests {
    private func read(_ text: String) throws -> [CSVRecord] {
        try CSVReader.records(in: Data(text.utf8))
    }

    private func readError(_ bytes: [UInt8]) -> CSVError? {
        do {
            _ = try CSVReader.records(in: Data(bytes))
            return nil
        } catch let error as CSVError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func readsQuotedFieldsAndReportsTheLineEachRecordStartsOn() throws {
        let text = "\u{FEFF}name,note,amount\r\n"
            + "\"Smith, Jones & \"\"Partners\"\"\",\"two\r\nlines\",\"1,930.74\"\r\n"
            + "plain,,\"\"\r\n"
            + "\"three\nmore\nlines\",x,y\n"
            + "last,row,here"
        let records = try read(text)
        #expect(records == [
            CSVRecord(line: 1, fields: ["name", "note", "amount"]),
            CSVRecord(line: 2, fields: ["Smith, Jones & \"Partners\"", "two\r\nlines", "1,930.74"]),
            CSVRecord(line: 4, fields: ["plain", "", ""]),
            CSVRecord(line: 5, fields: ["three\nmore\nlines", "x", "y"]),
            CSVRecord(line: 8, fields: ["last", "row", "here"]),
        ])
    }

    @Test func blankLinesAreRecordsButAFinalLineBreakIsNot() throws {
        #expect(try read("a,b\n\nc,d\n") == [
            CSVRecord(line: 1, fields: ["a", "b"]),
            CSVRecord(line: 2, fields: [""]),
            CSVRecord(line: 3, fields: ["c", "d"]),
        ])
        #expect(try read("a,b\r\n\r\n").count == 2)
        #expect(try read("a,\n").map(\.fields) == [["a", ""]])
        #expect(try read("a,").map(\.fields) == [["a", ""]])
        #expect(try read(",").map(\.fields) == [["", ""]])
        #expect(try read("").isEmpty)
        #expect(try read("\u{FEFF}").isEmpty)
        // Old Mac line ends count as lines too.
        #expect(try read("a\rb\r\"c\rd\"\re").map(\.line) == [1, 2, 3, 5])
        #expect(try read("é,ü\n").map(\.fields) == [["é", "ü"]])
    }

    @Test func refusesMalformedQuotingNamingTheLine() {
        #expect(readError(Array("a,b\n\"x\ny\",c\n\"never closed,d\ne,f\n".utf8))
                == CSVError(line: 4, message: "a quoted field starting here is never closed (missing \")"))
        #expect(readError(Array("a,b\nab\"c,d\n".utf8))
                == CSVError(line: 2, message: "a quote inside an unquoted field (quote the whole field and double the quote)"))
        #expect(readError(Array("a,b\n\"one\ntwo\"x,d\n".utf8))
                == CSVError(line: 2, message: "a quoted field starting here runs to line 3 and has text after its closing quote (is a closing quote missing?)"))
        #expect(readError(Array("a,b\n\"ab\"c,d\n".utf8))
                == CSVError(line: 2, message: "unexpected text after a closing quote (a quote inside a quoted field must be doubled)"))
        #expect(readError(Array("a,b\n\"ab\" ,c\n".utf8))?.line == 2)
    }

    @Test func refusesBytesThatAreNotUTF8() {
        // "Café" in Latin-1, unquoted and quoted.
        #expect(readError(Array("a,b\nok,fine\n".utf8) + [0x43, 0x61, 0x66, 0xE9] + Array(",x\n".utf8))
                == CSVError(line: 3, message: "the file is not UTF-8 text (save it as CSV UTF-8)"))
        #expect(readError(Array("a,b\n\"x\"\"".utf8) + [0xE9] + Array("\",x\n".utf8))?.line == 2)
        #expect(readError([0xFF, 0xFE, 0x61, 0x00])?.line == 1)  // UTF-16
    }

    /// Behaviour only: how fast is patchbay-bench's business, never a test's.
    @Test func readsAHundredThousandRows() throws {
        var text = "Date,Transaction Type,Num,Customer,Due Date,Amount,Open Balance\r\n"
        text.reserveCapacity(8_000_000)
        for index in 0..<100_000 {
            text += "11/\(index % 28 + 1)/2026,Invoice,INV-\(index),\"Customer \(index % 500), Ltd\",12/01/2026,\"1,\(index % 900 + 100).50\",\(index % 900 + 10).25\r\n"
        }
        let data = Data(text.utf8)
        let records = try CSVReader.records(in: data)
        #expect(records.count == 100_001)
        #expect(records.last?.line == 100_001)
        #expect(records[1].fields[3] == "Customer 0, Ltd")

        let invoices = try InvoiceCSV.parse(data, format: .quickbooks, currency: "EUR", file: "big.csv")
        #expect(invoices.count == 100_000)
        #expect(invoices[99_999].openMinor == 10_925)
    }
}

// MARK: - QuickBooks

@Suite("QuickBooks A/R Aging Detail CSV")
struct QuickBooksInvoiceCSVTests {
    @Test func readsTheFixture() throws {
        let invoices = try InvoiceCSV.parse(Fixtures.data("quickbooks/ar-aging-detail.csv"), format: .quickbooks,
                                            currency: "EUR", file: quickBooksFile)
        #expect(invoices.count == 61)
        #expect(invoices[0] == InvoiceInput(
            externalId: "INV-1006", number: "INV-1006", kind: .invoice, customer: "Atelier Moreau SARL",
            currency: "EUR", issueDate: "2026-08-15", dueDate: "2026-09-14", totalMinor: 193_074,
            openMinor: 193_074, line: 2))
        let memo = try #require(invoices.first { $0.number == "CM-2001" })
        #expect(memo.kind == .creditMemo && memo.totalMinor == -25_000 && memo.openMinor == -25_000)
        #expect(memo.line == 19)
        #expect(invoices.filter { $0.openMinor == 0 }.count == 14)
        #expect(invoices.map(\.line) == Array(2...62))
        #expect(Set(invoices.map(\.externalId)).count == 61)
    }

    /// A report as QuickBooks Online exports it: titles, a blank first column, aging sections with
    /// subtotals, a grand total and a footer; BOM and CRLF.
    private static let report: [String] = [
        "\u{FEFF}\"Patchbay Demo Ltd\"",                                                              // 1
        "\"A/R Aging Detail\"",                                                                       // 2
        "\"As of November 30, 2026\"",                                                                // 3
        "",                                                                                           // 4
        ",\"Date\",\"Transaction Type\",\"Num\",\"Customer\",\"Due Date\",\"Amount\",\"Open Balance\"", // 5
        "\"Current\",,,,,,,",                                                                         // 6
        ",\"11/29/2026\",\"Invoice\",\"1007\",\"Smith, Jones & \"\"Partners\"\"\",\"12/29/2026\",\"2,956.33\",\"2,956.33\"", // 7
        ",\"11/12/2026\",\"Payment\",\"\",\"Eastside Grocers\",\"\",\"-500.00\",\"-500.00\"",         // 8
        ",\"11/12/2026\",\"Payment\",\"\",\"Eastside Grocers\",\"\",\"-500.00\",\"-500.00\"",         // 9
        "\"Total for Current\",,,,,,\"1,956.33\",\"1,956.33\"",                                       // 10
        "\"1 - 30 days past due\",,,,,,,",                                                            // 11
        ",\"11/10/2026\",\"Credit Memo\",\"CM-2001\",\"Eastside Grocers\",\"11/10/2026\",\"(250.00)\",\"(250.00)\"", // 12
        ",\"10/20/2026\",\"Invoice\",\"1008\",\"\"\"Quoted\"\" Café\",\"11/19/2026\",\"1,000.00\",\"400.00\"", // 13
        ",\"9/5/2026\",\"Payment\",\"1008\",\"Brightwater Cafés Ltd\",\"9/5/2026\",\"-80.00\",\"-80.00\"", // 14
        ",\"10/2/2026\",\"Journal Entry\",\"JE-4\",\"Total Wine & More\",\"10/2/2026\",\"15.00\",\"15.00\"", // 15
        "\"Total for 1 - 30 days past due\",,,,,,\"685.00\",\"85.00\"",                                // 16
        "",                                                                                           // 17
        "\"TOTAL\",,,,,,\"2,641.33\",\"2,041.33\"",                                                   // 18
        "",                                                                                           // 19
        "\"Monday, Dec 01, 2026 09:15:02 AM GMT+01:00\"",                                             // 20
    ]

    @Test func readsAFullQuickBooksReportWithTitlesSectionsAndTotals() throws {
        let invoices = try parseQuickBooks(Self.report, separator: "\r\n")
        #expect(invoices.map(\.line) == [7, 8, 9, 12, 13, 14, 15])
        #expect(invoices[0].customer == "Smith, Jones & \"Partners\"")
        #expect(invoices[0].externalId == "1007")
        #expect(invoices[4].customer == "\"Quoted\" Café")

        // Unapplied payments: no number, a negative balance, due on their date, distinct ids.
        #expect(invoices[1].kind == .payment && invoices[1].openMinor == -50_000 && invoices[1].number == "")
        #expect(invoices[1].dueDate == "2026-11-12")
        #expect(invoices[1].externalId == "payment:2026-11-12:Eastside Grocers:-500.00")
        #expect(invoices[2].externalId == "payment:2026-11-12:Eastside Grocers:-500.00#2")
        #expect(try parseQuickBooks(Self.report).map(\.externalId) == invoices.map(\.externalId))  // stable

        #expect(invoices[3].kind == .creditMemo && invoices[3].openMinor == -25_000)
        // A payment numbered like an invoice is a different transaction.
        #expect(invoices[5].kind == .payment && invoices[5].externalId == "payment:1008" && invoices[5].issueDate == "2026-09-05")
        #expect(invoices[4].externalId == "1008")
        // A customer whose name starts with "Total" is not a total line.
        #expect(invoices[6].kind == .other && invoices[6].customer == "Total Wine & More")
        #expect(invoices[6].externalId == "journal entry:JE-4")
    }

    @Test func unappliedPaymentsAndCreditMemosAgeWithNegativeBalances() throws {
        let (store, directory) = try makeTestStore(homeCurrency: "EUR")
        defer { directory.remove() }
        let source = try store.saveConnector(ConnectorSpec(
            name: "quickbooks", module: "quickbooks-csv", pattern: .batch, system: "QuickBooks", direction: .source)).id
        let summary = try store.importInvoices(parseQuickBooks(Self.report, separator: "\r\n"), source: source,
                                               job: "import-ar")
        #expect(summary.inserted == 7)
        let eastside = try #require(try store.aging(asOf: "2026-11-30").first?.customers
            .first { $0.customer == "Eastside Grocers" })
        #expect(eastside.totalMinor == -125_000)
        #expect(eastside[.current] == BucketTotal(amountMinor: 0, count: 0))
        #expect(eastside[.days1to30] == BucketTotal(amountMinor: -125_000, count: 3))
    }

    @Test func refusesTransactionsAfterTheGrandTotal() {
        var lines = Self.report
        lines.append(",\"11/29/2026\",\"Invoice\",\"1099\",\"Late Row\",\"12/29/2026\",\"1.00\",\"1.00\"")
        #expect(parseError { try parseQuickBooks(lines) }?.description
                == "ar-aging-detail.csv:21: a transaction after the report's TOTAL line")
    }

    @Test func refusesRowsThatAreNotTransactions() {
        var lines = Self.report
        lines[7] = ",\"\",\"Payment\",\"\",\"Eastside Grocers\",\"\",\"-500.00\",\"-500.00\""
        #expect(parseError { try parseQuickBooks(lines) }?.description == "ar-aging-detail.csv:8: Date is empty")
        lines = Self.report
        lines[7] = ",\"11/12/2026\",\"Payment\",\"\",\"\",\"\",\"-500.00\",\"-500.00\""
        #expect(parseError { try parseQuickBooks(lines) }?.description == "ar-aging-detail.csv:8: Customer is empty")
        lines = Self.report
        lines[7] = ",\"11/12/2026\",\"Payment\",\"\",\"Eastside Grocers\",\"\",\"$500.00\",\"-500.00\""
        #expect(parseError { try parseQuickBooks(lines) }?.description
                == "ar-aging-detail.csv:8: Amount '$500.00' is not an amount (expected digits, '-', '.', ',' or parentheses)")
    }

    /// Each malformed variant of the fixture: what to change, and the error it must give.
    private static func malformedVariants() throws -> [(name: String, lines: [String], line: Int, message: String)] {
        let good = try quickBooksLines()
        var variants: [(String, [String], Int, String)] = []
        func variant(_ name: String, marker: String, _ change: (String) -> String, message: String) throws {
            let k = try line(of: marker, in: good)
            var lines = good
            lines[k - 1] = change(lines[k - 1])
            variants.append((name, lines, k, message))
        }
        try variant("bad due date", marker: "INV-1014", { $0.replacingOccurrences(of: ",11/02/2026,", with: ",13/45/2026,") },
                    message: "Due Date '13/45/2026' is not a date (MM/DD/YYYY)")
        try variant("bad date", marker: "INV-1020", { "2026-10-03" + $0.dropFirst(10) },
                    message: "Date '2026-10-03' is not a date (MM/DD/YYYY)")
        try variant("bad amount", marker: "INV-1016", { $0.replacingOccurrences(of: "943.17,943.17", with: "943.17,9.43.17") },
                    message: "Open Balance '9.43.17' is not an amount (expected digits after the decimal point)")
        try variant("too many decimals", marker: "INV-1026", { $0.replacingOccurrences(of: "454.55,454.55", with: "454.55,454.555") },
                    message: "Open Balance '454.555' is not an amount (EUR takes 2 decimals, not 3)")
        try variant("duplicate Num", marker: "INV-1013", { $0.replacingOccurrences(of: "INV-1013", with: "INV-1006") },
                    message: "Num 'INV-1006' already appears on line 2")
        let k = try line(of: "INV-1030", in: good)
        try variant("unterminated quote", marker: "INV-1030", { String($0.dropLast()) },
                    message: "a quoted field starting here runs to line \(k + 1) and has text after its closing quote (is a closing quote missing?)")
        try variant("unterminated quote on the last line", marker: "INV-EDGE-DUE", { $0.replacingOccurrences(of: ",100.00,100.00", with: ",100.00,\"100.00") },
                    message: "a quoted field starting here is never closed (missing \")")
        try variant("stray quote", marker: "INV-1012", { $0.replacingOccurrences(of: "Casa Núñez", with: "Casa \"Núñez\"") },
                    message: "a quote inside an unquoted field (quote the whole field and double the quote)")
        try variant("short row", marker: "INV-1040", { $0.split(separator: ",").prefix(5).joined(separator: ",") },
                    message: "expected 7 fields like the header on line 1, found 5")
        try variant("garbage inside the data", marker: "INV-1045", { _ in "see attached" },
                    message: "expected 7 fields like the header on line 1, found 1")
        var missing = good
        missing[0] = "Date,Transaction Type,Num,Customer,Due Date,Amount,Balance"
        variants.append(("missing column", missing, 1,
                         "missing column(s) Open Balance; found 'Date', 'Transaction Type', 'Num', 'Customer', 'Due Date', 'Amount', 'Balance'"))
        return variants
    }

    @Test func aMalformedFileIsRefusedNamingTheLineAndChangesNothing() throws {
        let (store, directory) = try makeTestStore(homeCurrency: "EUR")
        defer { directory.remove() }
        let source = try store.saveConnector(ConnectorSpec(
            name: "quickbooks", module: "quickbooks-csv", pattern: .batch, system: "QuickBooks", direction: .source)).id
        _ = try store.importInvoices(parseQuickBooks(quickBooksLines()), source: source, job: "import-ar")
        let agingBefore = try store.aging(asOf: "2026-11-30")
        let openBefore = try store.openInvoices(customer: "Atelier Moreau SARL")
        let runsBefore = try store.batchRuns(limit: 100)

        for variant in try Self.malformedVariants() {
            let error = parseError {
                try store.importInvoices(parseQuickBooks(variant.lines), source: source, job: "import-ar")
            }
            #expect(error == InvoiceCSVError(file: quickBooksFile, line: variant.line, message: variant.message),
                    "\(variant.name)")
            #expect(error?.description == "\(quickBooksFile):\(variant.line): \(variant.message)", "\(variant.name)")
        }
        #expect(try store.aging(asOf: "2026-11-30") == agingBefore)
        #expect(try store.openInvoices(customer: "Atelier Moreau SARL") == openBefore)
        #expect(try store.batchRuns(limit: 100) == runsBefore)
    }

    @Test func aFileThatIsNotUTF8NamesTheLine() throws {
        var lines = try quickBooksLines()
        let k = try line(of: "INV-1011", in: lines)
        lines[k - 1] = lines[k - 1].replacingOccurrences(of: "Cafés", with: "Caf@s")
        var bytes = Array((lines.joined(separator: "\n") + "\n").utf8)
        let at = try #require(bytes.firstIndex(of: UInt8(ascii: "@")))
        bytes[at] = 0xE9  // é in Latin-1
        #expect(parseError {
            try InvoiceCSV.parse(Data(bytes), format: .quickbooks, currency: "EUR", file: quickBooksFile)
        } == InvoiceCSVError(file: quickBooksFile, line: k, message: "the file is not UTF-8 text (save it as CSV UTF-8)"))
    }

    @Test func refusesFilesWithoutAHeaderOrACurrency() {
        #expect(parseError {
            try InvoiceCSV.parse(Data("Report\nDate,Customer,Total\nA,1\n".utf8), format: .quickbooks, currency: "EUR", file: "x.csv")
        }?.description == "x.csv:2: missing column(s) Transaction Type, Num, Due Date, Amount, Open Balance; found 'Date', 'Customer', 'Total'")
        #expect(parseError {
            try InvoiceCSV.parse(Data("hello\nworld\n".utf8), format: .quickbooks, currency: "EUR", file: "x.csv")
        }?.description == "x.csv:1: no header row with the columns Date, Transaction Type, Num, Customer, Due Date, Amount, Open Balance; the first line has 'hello'")
        #expect(parseError {
            try InvoiceCSV.parse(Data("\n\n".utf8), format: .quickbooks, currency: "EUR", file: "x.csv")
        }?.description == "x.csv: the file is empty")
        #expect(parseError {
            try InvoiceCSV.parse(Data("a\n".utf8), format: .quickbooks, currency: "EURO", file: "x.csv")
        }?.description == "x.csv: currency 'EURO' is not an ISO 4217 code like EUR")
        #expect(parseError {
            try InvoiceCSV.parse(Data("Date,Date,Transaction Type,Num,Customer,Due Date,Amount,Open Balance\n".utf8),
                                 format: .quickbooks, currency: "EUR", file: "x.csv")
        }?.description == "x.csv:1: column 'Date' appears 2 times in the header")
    }

    @Test func findsColumnsByNameInAnyOrderAndCase() throws {
        let text = "  open balance ,CUSTOMER,num,Amount,due date,date,Transaction Type\n"
            + "\"1,000\",Acme,7,\"1,000\",12/1/2026,11/1/2026,Invoice\n"
        let invoices = try InvoiceCSV.parse(Data(text.utf8), format: .quickbooks, currency: "JPY", file: "x.csv")
        #expect(invoices == [InvoiceInput(externalId: "7", number: "7", kind: .invoice, customer: "Acme", currency: "JPY",
                                          issueDate: "2026-11-01", dueDate: "2026-12-01", totalMinor: 1_000,
                                          openMinor: 1_000, line: 2)])
    }
}

// MARK: - Xero

@Suite("Xero sales invoice CSV")
struct XeroInvoiceCSVTests {
    private static func fixtureLines() throws -> [String] {
        splitLines(try String(contentsOf: Fixtures.local("xero/sales-invoices.csv"), encoding: .utf8))
    }

    private static func parse(_ lines: [String], currency: String = "EUR") throws -> [InvoiceInput] {
        try InvoiceCSV.parse(Data((lines.joined(separator: "\n") + "\n").utf8), format: .xero, currency: currency,
                             file: "sales-invoices.csv")
    }

    /// A fixture line with one column changed.
    private static func replacing(_ column: String, with value: String, onLineOf marker: String,
                                  in lines: [String]) throws -> ([String], Int) {
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let k = try line(of: marker, in: lines)
        let record = try #require(try CSVReader.records(in: Data(lines[k - 1].utf8)).first)
        var fields = record.fields
        fields[try #require(header.firstIndex(of: column))] = value
        var changed = lines
        changed[k - 1] = fields.map { $0.contains(",") || $0.contains("\"") ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 }
            .joined(separator: ",")
        return (changed, k)
    }

    @Test func readsTheFixture() throws {
        let invoices = try Self.parse(Self.fixtureLines(), currency: "CHF")
        #expect(invoices.map(\.number) == ["INV-0101", "INV-0102", "INV-0103", "CN-0007", "INV-0104", "INV-0107"])
        // Two line items, one invoice.
        #expect(invoices[0] == InvoiceInput(
            externalId: "INV-0101", number: "INV-0101", kind: .invoice, customer: "Atelier Moreau SARL", currency: "EUR",
            issueDate: "2026-11-20", dueDate: "2026-12-20", totalMinor: 14_161, openMinor: 14_161, line: 2))
        #expect(invoices[1].currency == "GBP" && invoices[1].issueDate == "2026-09-15" && invoices[1].openMinor == 60_000)
        #expect(invoices[2].customer == "Smith, Jones & \"Partners\"" && invoices[2].dueDate == "2026-08-31")
        // A credit note: positive in Xero, negative to A/R; no due date means due on its date.
        #expect(invoices[3].kind == .creditMemo && invoices[3].totalMinor == -5_000 && invoices[3].openMinor == -5_000)
        #expect(invoices[3].dueDate == "2026-11-10")
        #expect(invoices[4].openMinor == 0 && invoices[4].totalMinor == 30_000)
        #expect(invoices[5].currency == "USD" && invoices[5].line == 10)
        // The draft and the voided invoice are not receivables.
        #expect(!invoices.contains { $0.number == "INV-0105" || $0.number == "INV-0106" })
    }

    @Test func agesEachCurrencyApart() throws {
        let (store, directory) = try makeTestStore(homeCurrency: "EUR")
        defer { directory.remove() }
        let source = try store.saveConnector(ConnectorSpec(
            name: "xero", module: "xero-csv", pattern: .batch, system: "Xero", direction: .source)).id
        let summary = try store.importInvoices(Self.parse(Self.fixtureLines()), source: source, job: "import-ar")
        #expect(summary.inserted == 6)

        let aging = try store.aging(asOf: "2026-11-30")
        #expect(aging.map(\.currency) == ["EUR", "GBP", "USD"])
        #expect(aging[0][.current] == BucketTotal(amountMinor: 14_161, count: 1))
        #expect(aging[0][.days1to30] == BucketTotal(amountMinor: -5_000, count: 1))
        #expect(aging[0][.over90] == BucketTotal(amountMinor: 98_050, count: 1))
        #expect(aging[0].totalMinor == 107_211 && aging[0].count == 3)
        #expect(aging[0].customers.map(\.customer) == ["Smith, Jones & \"Partners\"", "Atelier Moreau SARL"])
        #expect(aging[1][.days31to60] == BucketTotal(amountMinor: 60_000, count: 1))
        #expect(aging[2][.days1to30] == BucketTotal(amountMinor: 250_000, count: 1))
        #expect(aging[2].totalMinor == 250_000)
    }

    @Test func usesTheCurrencyArgumentWithoutACurrencyColumn() throws {
        let text = "ContactName,InvoiceNumber,InvoiceDate,DueDate,Total,InvoiceAmountDue\n"
            + "Acme,INV-1,1 Mar 2026,31 March 2026,1.500,1.500\n"
        let invoices = try InvoiceCSV.parse(Data(text.utf8), format: .xero, currency: "kwd", file: "x.csv")
        #expect(invoices == [InvoiceInput(externalId: "INV-1", number: "INV-1", kind: .invoice, customer: "Acme",
                                          currency: "KWD", issueDate: "2026-03-01", dueDate: "2026-03-31",
                                          totalMinor: 1_500, openMinor: 1_500, line: 2)])
    }

    @Test func refusesInconsistentOrUnreadableRowsNamingTheLine() throws {
        let lines = try Self.fixtureLines()
        func expectError(_ change: ([String], Int), _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(parseError { try Self.parse(change.0) }
                    == InvoiceCSVError(file: "sales-invoices.csv", line: change.1, message: message),
                    sourceLocation: sourceLocation)
        }
        // The second line item of INV-0101 disagrees with the first.
        var secondItem = lines
        secondItem[2] = lines[2].replacingOccurrences(of: ",141.61,22.61,", with: ",141.62,22.61,")
        expectError((secondItem, 3), "InvoiceNumber 'INV-0101' has a different Total than on line 2")
        expectError(try Self.replacing("DueDate", with: "15/10/2026", onLineOf: "INV-0102", in: lines),
                    "DueDate '15/10/2026' is not a date (20 Nov 2026 or 2026-11-20)")
        expectError(try Self.replacing("InvoiceDate", with: "31 Sep 2026", onLineOf: "INV-0102", in: lines),
                    "InvoiceDate '31 Sep 2026' is not a date (20 Nov 2026 or 2026-11-20)")
        expectError(try Self.replacing("InvoiceDate", with: "1 Sepember 2026", onLineOf: "INV-0102", in: lines),
                    "InvoiceDate '1 Sepember 2026' is not a date (20 Nov 2026 or 2026-11-20)")
        expectError(try Self.replacing("Type", with: "Bill", onLineOf: "INV-0107", in: lines),
                    "Type 'Bill' is a payable, not a receivable (export sales invoices)")
        expectError(try Self.replacing("Status", with: "Pending", onLineOf: "INV-0107", in: lines),
                    "Status 'Pending' is not a Xero invoice status (Awaiting Payment, Paid, Draft, Voided, ...)")
        expectError(try Self.replacing("Currency", with: "US$", onLineOf: "INV-0107", in: lines),
                    "Currency 'US$' is not an ISO 4217 code like EUR")
        expectError(try Self.replacing("InvoiceAmountDue", with: "2,500.005", onLineOf: "INV-0107", in: lines),
                    "InvoiceAmountDue '2,500.005' is not an amount (USD takes 2 decimals, not 3)")
        expectError(try Self.replacing("InvoiceNumber", with: "", onLineOf: "INV-0107", in: lines),
                    "InvoiceNumber is empty")
        // A draft is skipped whatever its other fields hold, but only a draft.
        #expect(try Self.parse(try Self.replacing("DueDate", with: "soon", onLineOf: "INV-0105", in: lines).0).count == 6)

        var missing = lines
        missing[0] = missing[0].replacingOccurrences(of: "InvoiceAmountDue", with: "AmountOwed")
        #expect(parseError { try Self.parse(missing) }?.message.hasPrefix("missing column(s) InvoiceAmountDue; found 'ContactName', ") == true)
    }
}
