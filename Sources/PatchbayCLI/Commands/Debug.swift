import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    /// Tools for tests and troubleshooting; hidden from help.
    struct Debug: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Troubleshooting tools.", shouldDisplay: false, subcommands: [Drain.self])
    }
}

extension Patchbay.Debug {
    /// Claims and completes due deliveries until none is left, printing each claimed id.
    ///
    /// Two of these on one database prove that processes never claim the same delivery.
    struct Drain: AsyncParsableCommand {
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Lease owner name.") var owner = "debug-\(ProcessInfo.processInfo.processIdentifier)"
        @Option(help: "Claim batch size.") var batch = 10
        @Option(help: "Lease, seconds.") var lease = 60.0

        func run() async throws {
            let store: any DeliveryQueue = try database.openStore()
            var out = FileHandle.standardOutput
            while true {
                let claims = try store.claimDueDeliveries(limit: batch, lease: lease, owner: owner)
                if claims.isEmpty { break }
                let outcomes = claims.map {
                    DeliveryOutcome(deliveryId: $0.deliveryId, leaseToken: $0.leaseToken, result: .delivered,
                                    startedAt: Date(), durationMs: 0, statusCode: 200)
                }
                let recorded = try store.record(outcomes)
                for (claim, record) in zip(claims, recorded) {
                    print("\(claim.deliveryId) \(record == .recorded(.delivered) ? "delivered" : "lost")", to: &out)
                }
            }
        }
    }
}

extension FileHandle: @retroactive TextOutputStream {
    public func write(_ string: String) {
        write(Data(string.utf8))
    }
}
