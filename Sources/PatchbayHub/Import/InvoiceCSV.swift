import Foundation
import PatchbayStore

/// The A/R exports `InvoiceCSV` reads.
public enum InvoiceCSVFormat: String, Sendable, CaseIterable {
    /// QuickBooks Online "A/R Aging Detail" exported as CSV.
    case quickbooks = "quickbooks-csv"
    /// Xero's sales invoice export (Business > Invoices > Export), one row per line item.
    case xero = "xero-csv"
}

/// Why an invoice file was refused: the file, the line (0 for the whole file) and what is wrong.
public struct InvoiceCSVError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)" }
}

/// Reads accounting exports into `InvoiceInput`s for `Store.importInvoices`.
///
/// Every row is checked; the first bad one throws with its line, so a file is either read whole or
/// refused. Columns are found by header name (case-insensitive, trimmed), in any order.
public enum InvoiceCSV {
    public static func parse(_ data: Data, format: InvoiceCSVFormat, currency: String,
                             file: String) throws -> [InvoiceInput] {
        let currency = currency.uppercased()
        guard Currency.isValidCode(currency) else {
            throw InvoiceCSVError(file: file, line: 0, message: "currency '\(currency)' is not an ISO 4217 code like EUR")
        }
        let records: [CSVRecord]
        do {
            records = try CSVReader.records(in: data)
        } catch let error as CSVError {
            throw InvoiceCSVError(file: file, line: error.line, message: error.message)
        }
        guard records.contains(where: { !$0.isBlank }) else {
            throw InvoiceCSVError(file: file, line: 0, message: "the file is empty")
        }
        let invoices: [InvoiceInput]
        switch format {
        case .quickbooks: invoices = try QuickBooksAgingDetail(file: file, currency: currency).parse(records)
        case .xero: invoices = try XeroInvoiceExport(file: file, currency: currency).parse(records)
        }
        // What the store would refuse is refused here, with the file's name, so nothing that reads a
        // file can start writing it and stop half way.
        if let problem = InvoiceInput.firstProblem(in: invoices) {
            throw InvoiceCSVError(file: file, line: problem.line, message: problem.message)
        }
        return invoices
    }
}

// MARK: - Columns

/// A column an export must (or may) have, under any of its names.
private struct ColumnSpec {
    var key: String
    var names: [String]
    var required = true
}

/// Where each known column sits in a header row.
private struct HeaderMap {
    let headerLine: Int
    let width: Int
    private let index: [String: Int]
    private let displayNames: [String: String]

    /// Finds the header: the first record that names every required column. Records before it
    /// (report titles) are skipped.
    static func find(in records: [CSVRecord], columns: [ColumnSpec], file: String) throws -> (HeaderMap, Int) {
        var candidate: (record: CSVRecord, missing: [String])?
        for (position, record) in records.enumerated() where !record.isBlank {
            let names = record.fields.map(normalize)
            var index: [String: Int] = [:]
            var displayNames: [String: String] = [:]
            var missing: [String] = []
            for spec in columns {
                let matches = names.indices.filter { spec.names.contains(names[$0]) }
                if matches.count > 1 {
                    throw InvoiceCSVError(file: file, line: record.line,
                                          message: "column '\(spec.key)' appears \(matches.count) times in the header")
                }
                if let column = matches.first {
                    index[spec.key] = column
                    displayNames[spec.key] = record.fields[column].trimmingCharacters(in: .whitespaces)
                } else if spec.required {
                    missing.append(spec.key)
                }
            }
            if missing.isEmpty {
                return (HeaderMap(headerLine: record.line, width: record.fields.count, index: index,
                                  displayNames: displayNames), position)
            }
            let required = columns.filter(\.required).count
            if candidate == nil && required - missing.count >= 2 { candidate = (record, missing) }
        }
        let expected = columns.filter(\.required).map(\.key).joined(separator: ", ")
        if let (record, missing) = candidate {
            let found = record.fields.map { "'\($0.trimmingCharacters(in: .whitespaces))'" }.joined(separator: ", ")
            throw InvoiceCSVError(file: file, line: record.line,
                                  message: "missing column(s) \(missing.joined(separator: ", ")); found \(found)")
        }
        let first = records.first { !$0.isBlank }!
        let found = first.fields.map { "'\($0.trimmingCharacters(in: .whitespaces))'" }.joined(separator: ", ")
        throw InvoiceCSVError(file: file, line: first.line,
                              message: "no header row with the columns \(expected); the first line has \(found)")
    }

    /// Lowercased and trimmed, without the `*` Xero puts before required column names.
    static func normalize(_ name: String) -> String {
        var name = name.trimmingCharacters(in: .whitespaces).lowercased()
        if name.hasPrefix("*") { name.removeFirst() }
        return name
    }

    func column(_ key: String) -> Int? { index[key] }

    /// The column's name as the file spells it, for messages.
    func name(_ key: String) -> String { displayNames[key] ?? key }

    /// The value of a column of a trimmed record ("" when the record is too short or the column absent).
    func value(_ key: String, in record: CSVRecord) -> String {
        guard let column = index[key], column < record.fields.count else { return "" }
        return record.fields[column]
    }

    /// True when no known column of the record holds any text.
    func knownColumnsEmpty(_ record: CSVRecord) -> Bool {
        index.keys.allSatisfy { value($0, in: record).isEmpty }
    }
}

/// Parses amounts and dates of one file, turning failures into located errors.
private struct RowReader {
    let file: String
    let header: HeaderMap

    func fail(_ record: CSVRecord, _ message: String) -> InvoiceCSVError {
        InvoiceCSVError(file: file, line: record.line, message: message)
    }

    func checkWidth(_ record: CSVRecord) throws {
        if record.fields.count != header.width {
            throw fail(record, "expected \(header.width) fields like the header on line \(header.headerLine), found \(record.fields.count)")
        }
    }

    func amount(_ key: String, in record: CSVRecord, currency: String) throws -> Int64 {
        let text = header.value(key, in: record)
        do {
            return try Money.parseMinor(text, currency: currency)
        } catch let error as MoneyError {
            throw fail(record, "\(header.name(key)) '\(text)' is not an amount (\(error.reason))")
        }
    }

    func required(_ key: String, in record: CSVRecord) throws -> String {
        let text = header.value(key, in: record)
        if text.isEmpty { throw fail(record, "\(header.name(key)) is empty") }
        if InvoiceInput.isBlank(text) { throw fail(record, "\(header.name(key)) holds only white space") }
        return text
    }
}

/// The record with spaces and tabs trimmed from each field; cheap when there are none.
private func trimmed(_ record: CSVRecord) -> CSVRecord {
    func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
    var record = record
    for index in record.fields.indices {
        let utf8 = record.fields[index].utf8
        if let first = utf8.first, let last = utf8.last, isSpace(first) || isSpace(last) {
            record.fields[index] = record.fields[index].trimmingCharacters(in: CharacterSet(charactersIn: " \t"))
        }
    }
    return record
}

/// Whether every character is an ASCII digit and the count is in `counts`.
private func isDigits<S: StringProtocol>(_ text: S, counts: ClosedRange<Int>) -> Bool {
    counts.contains(text.utf8.count) && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
}

// MARK: - QuickBooks

/// QuickBooks Online's A/R Aging Detail report, exported as CSV.
///
/// The report may start with title lines and end with a `TOTAL` line and a footer; it may group rows
/// under headings ("Current", "1 - 30 days past due") with "Total for ..." subtotals. Those are
/// skipped; any other row must be a full transaction. Dates are `MM/DD/YYYY` (or `M/D/YYYY`).
/// `Num` is the external id of invoices and credit memos (they share QuickBooks' sales numbering);
/// other types are keyed by type and number, and a row without a number by type, date, customer and
/// amount. An empty due date means due on the transaction date.
private struct QuickBooksAgingDetail {
    let file: String
    let currency: String

    static let columns = [
        ColumnSpec(key: "Date", names: ["date"]),
        ColumnSpec(key: "Transaction Type", names: ["transaction type", "type"]),
        ColumnSpec(key: "Num", names: ["num", "no.", "number"]),
        ColumnSpec(key: "Customer", names: ["customer", "name", "customer full name"]),
        ColumnSpec(key: "Due Date", names: ["due date"]),
        ColumnSpec(key: "Amount", names: ["amount"]),
        ColumnSpec(key: "Open Balance", names: ["open balance"]),
    ]

    func parse(_ records: [CSVRecord]) throws -> [InvoiceInput] {
        let (header, headerPosition) = try HeaderMap.find(in: records, columns: Self.columns, file: file)
        let reader = RowReader(file: file, header: header)
        var invoices: [InvoiceInput] = []
        invoices.reserveCapacity(records.count - headerPosition)
        var lines: [String: Int] = [:]
        var afterGrandTotal = false

        for raw in records[(headerPosition + 1)...] where !raw.isBlank {
            let record = trimmed(raw)
            let filled = record.fields.indices.filter { !record.fields[$0].isEmpty }
            if afterGrandTotal {
                // The report's footer (a timestamp, a basis note) is one cell per line.
                if filled.count <= 1 { continue }
                throw reader.fail(record, "a transaction after the report's TOTAL line")
            }
            if let first = filled.first, isTotalLabel(record, column: first, header: header) {
                if record.fields[first].lowercased() == "total" { afterGrandTotal = true }
                continue
            }
            if header.knownColumnsEmpty(record) { continue }  // a section heading, e.g. "Current"

            try reader.checkWidth(record)
            let dateText = try reader.required("Date", in: record)
            let issueDate = try date(dateText, key: "Date", record: record, reader: reader)
            let dueText = header.value("Due Date", in: record)
            let dueDate = dueText.isEmpty ? issueDate : try date(dueText, key: "Due Date", record: record, reader: reader)
            let type = try reader.required("Transaction Type", in: record)
            let kind = Self.kind(type)
            let customer = try reader.required("Customer", in: record)
            let total = try reader.amount("Amount", in: record, currency: currency)
            let open = try reader.amount("Open Balance", in: record, currency: currency)
            let number = header.value("Num", in: record)

            var externalId: String
            if number.isEmpty {
                externalId = "\(type.lowercased()):\(issueDate):\(customer):\(Money.format(minor: total, currency: currency))"
                // Two identical unnumbered rows (two equal payments the same day) stay distinct.
                var occurrence = 2
                let base = externalId
                while lines[externalId] != nil {
                    externalId = "\(base)#\(occurrence)"
                    occurrence += 1
                }
            } else {
                externalId = kind == .invoice || kind == .creditMemo ? number : "\(type.lowercased()):\(number)"
                if let first = lines[externalId] {
                    throw reader.fail(record, "\(header.name("Num")) '\(number)' already appears on line \(first)")
                }
            }
            lines[externalId] = record.line
            invoices.append(InvoiceInput(
                externalId: externalId, number: number, kind: kind, customer: customer, currency: currency,
                issueDate: issueDate, dueDate: dueDate, totalMinor: total, openMinor: open, line: record.line))
        }
        return invoices
    }

    /// A "TOTAL" or "Total for Current" label, in the Date column or a column the parser does not read.
    private func isTotalLabel(_ record: CSVRecord, column: Int, header: HeaderMap) -> Bool {
        guard let initial = record.fields[column].utf8.first, "tTsS".utf8.contains(initial) else { return false }
        let label = record.fields[column].lowercased()
        guard label.hasPrefix("total") || label.hasPrefix("subtotal") else { return false }
        let readColumns = Self.columns.compactMap { header.column($0.key) }.filter { $0 != header.column("Date") }
        return !readColumns.contains(column)
    }

    static func kind(_ type: String) -> InvoiceKind {
        switch type.lowercased() {
        case "invoice": return .invoice
        case "credit memo": return .creditMemo
        case "payment": return .payment
        default: return .other
        }
    }

    /// `MM/DD/YYYY` or `M/D/YYYY` to `YYYY-MM-DD`.
    private func date(_ text: String, key: String, record: CSVRecord, reader: RowReader) throws -> String {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count == 3, isDigits(parts[0], counts: 1...2), isDigits(parts[1], counts: 1...2),
           isDigits(parts[2], counts: 4...4),
           let iso = CivilDate.iso(year: Int(parts[2])!, month: Int(parts[0])!, day: Int(parts[1])!) {
            return iso
        }
        throw reader.fail(record, "\(reader.header.name(key)) '\(text)' is not a date (MM/DD/YYYY)")
    }
}

// MARK: - Xero

/// Xero's sales invoice export: one row per line item, the invoice's fields repeated on each.
///
/// Reads `ContactName`, `InvoiceNumber`, `InvoiceDate`, `DueDate`, `Total` and `InvoiceAmountDue`,
/// and when present `Currency`, `Type` and `Status`; other columns (addresses, line items, tax) are
/// ignored. Rows of one invoice must agree on those fields. Drafts, invoices awaiting approval, voided
/// and deleted invoices are not receivables and are skipped. Credit notes and overpayments, which
/// Xero lists with positive amounts, are stored negative. Dates are `20 Nov 2026` or `2026-11-20`:
/// slashed dates are refused, as they read differently by region.
private struct XeroInvoiceExport {
    let file: String
    let currency: String

    static let columns = [
        ColumnSpec(key: "ContactName", names: ["contactname", "contact name", "contact"]),
        ColumnSpec(key: "InvoiceNumber", names: ["invoicenumber", "invoice number"]),
        ColumnSpec(key: "InvoiceDate", names: ["invoicedate", "invoice date", "date"]),
        ColumnSpec(key: "DueDate", names: ["duedate", "due date"]),
        ColumnSpec(key: "Total", names: ["total"]),
        ColumnSpec(key: "InvoiceAmountDue", names: ["invoiceamountdue", "amountdue", "amount due"]),
        ColumnSpec(key: "Currency", names: ["currency", "currencycode"], required: false),
        ColumnSpec(key: "Type", names: ["type"], required: false),
        ColumnSpec(key: "Status", names: ["status"], required: false),
    ]

    static let skippedStatuses: Set<String> = ["draft", "awaiting approval", "submitted", "voided", "void", "deleted"]
    static let receivableStatuses: Set<String> = ["", "awaiting payment", "authorised", "authorized", "paid"]

    static let months = ["january", "february", "march", "april", "may", "june", "july", "august", "september",
                         "october", "november", "december"]

    func parse(_ records: [CSVRecord]) throws -> [InvoiceInput] {
        let (header, headerPosition) = try HeaderMap.find(in: records, columns: Self.columns, file: file)
        let reader = RowReader(file: file, header: header)
        var invoices: [InvoiceInput] = []
        var positions: [String: Int] = [:]

        for raw in records[(headerPosition + 1)...] where !raw.isBlank {
            let record = trimmed(raw)
            try reader.checkWidth(record)
            let status = header.value("Status", in: record)
            let normalizedStatus = status.lowercased()
            if Self.skippedStatuses.contains(normalizedStatus) { continue }
            guard Self.receivableStatuses.contains(normalizedStatus) else {
                throw reader.fail(record, "\(header.name("Status")) '\(status)' is not a Xero invoice status (Awaiting Payment, Paid, Draft, Voided, ...)")
            }
            let type = header.value("Type", in: record)
            let kind = try self.kind(type, record: record, reader: reader)
            let number = try reader.required("InvoiceNumber", in: record)
            let customer = try reader.required("ContactName", in: record)
            let issueDate = try date(try reader.required("InvoiceDate", in: record), key: "InvoiceDate",
                                     record: record, reader: reader)
            let dueText = header.value("DueDate", in: record)
            let dueDate = dueText.isEmpty ? issueDate : try date(dueText, key: "DueDate", record: record, reader: reader)
            var rowCurrency = currency
            let currencyText = header.value("Currency", in: record)
            if !currencyText.isEmpty {
                rowCurrency = currencyText.uppercased()
                guard Currency.isValidCode(rowCurrency) else {
                    throw reader.fail(record, "\(header.name("Currency")) '\(currencyText)' is not an ISO 4217 code like EUR")
                }
            }
            var total = try reader.amount("Total", in: record, currency: rowCurrency)
            var due = try reader.amount("InvoiceAmountDue", in: record, currency: rowCurrency)
            if kind == .creditMemo || kind == .payment {
                // Xero shows credits as positive amounts; to A/R they reduce what is owed.
                if total > 0 { total = -total }
                if due > 0 { due = -due }
            }
            let invoice = InvoiceInput(
                externalId: number, number: number, kind: kind, customer: customer, currency: rowCurrency,
                issueDate: issueDate, dueDate: dueDate, totalMinor: total, openMinor: due, line: record.line)

            if let position = positions[number] {
                // Another line item of an invoice already read: its invoice fields must agree.
                var first = invoices[position]
                first.line = record.line
                if first != invoice {
                    let field = Self.firstDifference(first, invoice)
                    throw reader.fail(record, "\(header.name("InvoiceNumber")) '\(number)' has a different \(field) than on line \(invoices[position].line)")
                }
                continue
            }
            positions[number] = invoices.count
            invoices.append(invoice)
        }
        return invoices
    }

    private func kind(_ type: String, record: CSVRecord, reader: RowReader) throws -> InvoiceKind {
        let normalized = type.lowercased()
        switch normalized {
        case "", "sales invoice", "accrec", "invoice": return .invoice
        case "sales credit note", "accreccredit", "credit note": return .creditMemo
        case "sales overpayment", "sales prepayment", "overpayment", "prepayment": return .payment
        default:
            if normalized.contains("bill") || normalized.contains("purchase") || normalized.hasPrefix("accpay") {
                throw reader.fail(record, "\(reader.header.name("Type")) '\(type)' is a payable, not a receivable (export sales invoices)")
            }
            return .other
        }
    }

    private static func firstDifference(_ a: InvoiceInput, _ b: InvoiceInput) -> String {
        if a.customer != b.customer { return "ContactName" }
        if a.kind != b.kind { return "Type" }
        if a.currency != b.currency { return "Currency" }
        if a.issueDate != b.issueDate { return "InvoiceDate" }
        if a.dueDate != b.dueDate { return "DueDate" }
        if a.totalMinor != b.totalMinor { return "Total" }
        return "InvoiceAmountDue"
    }

    /// `20 Nov 2026`, `20 November 2026`, `2026-11-20` or `2026-11-20T00:00:00` to `YYYY-MM-DD`.
    private func date(_ text: String, key: String, record: CSVRecord, reader: RowReader) throws -> String {
        var iso: String?
        let isoPart = text.count > 10 && text.dropFirst(10).first == "T" ? String(text.prefix(10)) : text
        if CivilDate.dayNumber(isoPart) != nil {
            iso = isoPart
        } else {
            let parts = text.split(separator: " ")
            let monthName = parts.count == 3 ? parts[1].lowercased() : ""
            if parts.count == 3, isDigits(parts[0], counts: 1...2), isDigits(parts[2], counts: 4...4),
               let month = Self.months.firstIndex(where: { $0 == monthName || $0.prefix(3) == monthName }) {
                iso = CivilDate.iso(year: Int(parts[2])!, month: month + 1, day: Int(parts[0])!)
            }
        }
        guard let iso else {
            throw reader.fail(record, "\(reader.header.name(key)) '\(text)' is not a date (20 Nov 2026 or 2026-11-20)")
        }
        return iso
    }
}
