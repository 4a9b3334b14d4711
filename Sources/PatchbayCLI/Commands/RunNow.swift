import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    struct RunNow: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run-now",
            abstract: "Ask the hub to run a batch job now instead of at its next scheduled time.",
            discussion: """
                The request is kept in the database: the hub that runs the job (any node on PostgreSQL)
                starts a run within seconds and clears it. `patchbay status` shows the job as
                requested until then, and its last run after.
                """)

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The batch job (its connector's name).") var job: String

        func run() async throws {
            let store = try database.openStore()
            guard let requests = store as? any BatchRunRequests else {
                throw CLIError("this database cannot take run requests")
            }
            try requests.requestBatchRun(job: job, now: Date())
            emit("Asked for a run of \(job) now: the hub starts it within seconds (`patchbay status` shows it).")
        }
    }
}
