import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    struct Aging: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Invoice aging: open balances per currency in current, 1-30, 31-60, 61-90 and 91+ days.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "Age as of this date, YYYY-MM-DD (default: today, UTC).") var asOf: String?
        @Option(help: "Age by due date (default) or by invoice date.") var by: AgingBasis = .due
        @Flag(help: "Print JSON.") var json = false
        @Flag(help: "Print CSV.") var csv = false

        func validate() throws {
            if json && csv { throw ValidationError("choose --json or --csv, not both") }
        }

        func run() async throws {
            let store: any CommandLineReading = try database.openStore(readOnly: true)
            let date = asOf ?? Date().isoDay
            let reports = try store.aging(asOf: date, by: by)
            if json { emit(Render.aging(reports).rendered(pretty: true)) }
            else if csv { emit(Render.agingCSV(reports)) }
            else { emit(Render.agingTable(reports)) }
        }
    }
}

extension AgingBasis: ExpressibleByArgument {}
