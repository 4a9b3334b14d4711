import ArgumentParser
import Foundation
import PatchbayHub
import PatchbayStore
import PatchbayText

extension Patchbay {
    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import data exported from other systems.", subcommands: [Invoices.self])
    }
}

extension Patchbay.Import {
    struct Invoices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Import an accounts-receivable export (QuickBooks A/R Aging Detail, Xero invoices).",
            discussion: """
                The file is the full list of what is open for that connector: re-importing updates
                rather than duplicates, and invoices missing from it are closed. A malformed row is
                reported with its line number and nothing of the file is imported.
                """)

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The CSV file.") var file: String
        @Option(help: "quickbooks-csv or xero-csv.") var format: InvoiceCSVFormat
        @Option(help: "The connector the invoices come from (default: the format's name).") var connector: String?
        @Option(help: "Currency of the amounts when the file has no currency column (default: the database's home currency).")
        var currency: String?
        @OptionGroup var output: JSONOption

        func run() async throws {
            let store: any CommandLineReading & ConnectorCatalog & BatchLedger = try database.openStore()
            let currency = (currency ?? store.homeCurrency).uppercased()
            guard Currency.isValidCode(currency) else {
                throw CLIError("--currency must be a three-letter ISO 4217 code, got '\(currency)'")
            }
            let name = connector ?? format.rawValue
            let source = try store.connector(named: name) ?? store.saveConnector(ConnectorSpec(
                name: name, module: format.rawValue, pattern: .batch,
                system: format == .quickbooks ? "QuickBooks" : "Xero", direction: .source))
            let job = "import \(format.rawValue)"
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw CLIError("\(file): cannot read the file (\((error as NSError).localizedDescription))")
            }
            let invoices: [InvoiceInput]
            do {
                invoices = try InvoiceCSV.parse(data, format: format, currency: currency, file: file)
            } catch {
                _ = try? store.recordFailedBatchRun(job: job, connector: source.id, rowsRead: 0, error: "\(error)")
                throw CLIError("\(error)\nNothing was imported.")
            }
            if invoices.isEmpty {
                throw CLIError("\(file): no invoice rows found; nothing was imported (an empty export would close every open invoice).")
            }
            let summary = try store.importInvoices(invoices, source: source.id, job: job)
            if output.json {
                emit(JSON.object([
                    ("run_id", .int(summary.runId)), ("rows_read", .int(summary.rowsRead)),
                    ("inserted", .int(summary.inserted)), ("updated", .int(summary.updated)),
                    ("unchanged", .int(summary.unchanged)), ("closed", .int(summary.closed)),
                    ("connector", .string(name)), ("currency", .string(currency)),
                ]).rendered(pretty: true))
            } else {
                // A file or connector name may hold anything; errors are sanitised in `Patchbay.main`.
                emit("Imported \(summary.rowsRead) rows from \(SafeText.line(file)) into \(SafeText.line(name)) "
                     + "(\(SafeText.line(currency))): "
                     + "\(summary.inserted) new, \(summary.updated) updated, \(summary.unchanged) unchanged, "
                     + "\(summary.closed) closed.")
            }
        }
    }
}

extension InvoiceCSVFormat: ExpressibleByArgument {}
