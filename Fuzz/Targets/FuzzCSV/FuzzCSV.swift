// libFuzzer target: the CSV reader and both A/R importers.
//
// The input is the file, as is. Checked:
//
// - `CSVReader.records(in:)` returns or throws `CSVError`; records start on increasing lines, each
//   at least 1 and at most the number of lines of the file; an error names such a line too.
// - `InvoiceCSV.parse` (QuickBooks and Xero, in EUR, JPY and KWD) returns or throws
//   `InvoiceCSVError` naming the file and a line from 0 (the whole file) to the last line.
// - What it returns is what `Store.importInvoices` accepts (the same rules as `Store.validate`):
//   distinct non-empty ids, a non-blank customer, an ISO 4217 code, real `YYYY-MM-DD` dates, and each
//   invoice's line within the file. So a file is refused by the parser, with its line, or imported
//   whole; never accepted by one and refused by the other.
//
// The customer check is written independently of the store's rule (any white space, line breaks
// included, is blank); `InvoiceInput.firstProblem` must also find nothing. Found by this target: a customer
// of only U+00A0 that the reader kept and the store refused (Corpus/FuzzCSV/regression-nbsp-customer.csv).
import Foundation
import FuzzSupport
import PatchbayHub
import PatchbayStore

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        FileHandle.standardError.write(Data("FuzzCSV: \(message())\n".utf8))
        abort()
    }
}

/// Physical lines as the reader counts them: LF, CRLF or a lone CR end a line.
private func lineCount(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    var lines = 1
    var index = 0
    while index < bytes.count {
        if bytes[index] == UInt8(ascii: "\n") {
            lines += 1
        } else if bytes[index] == UInt8(ascii: "\r") {
            lines += 1
            if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\n") { index += 1 }
        }
        index += 1
    }
    return lines
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let buffer = UnsafeBufferPointer(start: data, count: size)
    let file = Data(buffer)
    let lines = lineCount(buffer)

    do {
        let records = try CSVReader.records(in: file)
        var previous = 0
        for record in records {
            check(record.line >= 1 && record.line <= lines, "record on line \(record.line) of a \(lines)-line file")
            check(record.line > previous,
                  "records out of order: line \(record.line) after \(previous)")
            check(!record.fields.isEmpty, "a record with no field on line \(record.line)")
            previous = record.line
        }
    } catch let error as CSVError {
        check(error.line >= 1 && error.line <= lines, "CSVError on line \(error.line) of a \(lines)-line file")
        check(!error.message.isEmpty, "CSVError without a message")
    } catch {
        check(false, "CSVReader threw \(type(of: error)): \(error)")
    }

    for format in InvoiceCSVFormat.allCases {
        for currency in ["EUR", "jpy", "KWD"] {
            do {
                let invoices = try InvoiceCSV.parse(file, format: format, currency: currency, file: "fuzz.csv")
                var ids: [String: Int] = [:]
                for invoice in invoices {
                    let at = "\(format.rawValue) line \(invoice.line)"
                    check(invoice.line >= 1 && invoice.line <= lines, "\(at): line outside the file")
                    check(!invoice.externalId.isEmpty, "\(at): empty id")
                    if let first = ids.updateValue(invoice.line, forKey: invoice.externalId) {
                        check(false, "\(at): id '\(invoice.externalId)' already returned for line \(first)")
                    }
                    check(!invoice.customer.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                          "\(at): customer \(invoice.customer.unicodeScalars.map { "U+" + String($0.value, radix: 16) }) is blank")
                    check(Currency.isValidCode(invoice.currency), "\(at): currency '\(invoice.currency)'")
                    check(CivilDate.dayNumber(invoice.issueDate) != nil, "\(at): issue date '\(invoice.issueDate)'")
                    check(CivilDate.dayNumber(invoice.dueDate) != nil, "\(at): due date '\(invoice.dueDate)'")
                }
                if let problem = InvoiceInput.firstProblem(in: invoices) {
                    check(false, "the store would refuse line \(problem.line) (\(problem.message)) of a file the parser accepted")
                }
            } catch let error as InvoiceCSVError {
                check(error.file == "fuzz.csv", "error names file '\(error.file)'")
                check(error.line >= 0 && error.line <= lines, "InvoiceCSVError on line \(error.line) of a \(lines)-line file: \(error)")
                check(!error.message.isEmpty, "InvoiceCSVError without a message")
                _ = error.description
            } catch {
                check(false, "InvoiceCSV.parse threw \(type(of: error)): \(error)")
            }
        }
    }
    return 0
}

// MARK: - Entry point

// The `main` SwiftPM links this executable with (`--defsym main=FuzzCSV_main`): see FuzzSupport.
@_cdecl("FuzzCSV_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv)
}
