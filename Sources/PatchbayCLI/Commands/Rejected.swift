import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    struct Rejected: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Webhooks the hub refused (bad signature, malformed, too large), newest first, with why.")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "How many to show.") var limit = 50
        @OptionGroup var output: JSONOption

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be from 1 to 10000, got \(limit)") }
        }

        func run() async throws {
            let store: any CommandLineReading & ConnectorCatalog = try database.openStore(readOnly: true)
            let rows = try store.rejections(limit: limit)
            let names = Dictionary(uniqueKeysWithValues: try store.connectors().map { ($0.id, $0.name) })
            if output.json {
                emit(JSON.array(rows.map { r in
                    JSON.object([
                        ("id", .int(r.id)), ("received_at", .time(r.receivedAt)),
                        ("connector", .string(r.connectorId.flatMap { names[$0] })), ("path", .string(r.path)),
                        ("status", .int(r.status)), ("reason", .string(r.reason)), ("remote", .string(r.remote)),
                        ("body_bytes", .int(r.bodyBytes)), ("body_excerpt", .string(r.bodyExcerpt)),
                    ])
                }).rendered(pretty: true))
                return
            }
            guard !rows.isEmpty else {
                emit("No refused webhooks.")
                return
            }
            let now = Date()
            var table = TextTable(["WHEN", "CONNECTOR", "STATUS", "FROM", "REASON"], maxWidth: 80)
            for r in rows {
                table.add([Render.ago(r.receivedAt, now: now), r.connectorId.flatMap { names[$0] } ?? r.path,
                           String(r.status), r.remote ?? "-", r.reason])
            }
            emit(table.rendered())
        }
    }
}
