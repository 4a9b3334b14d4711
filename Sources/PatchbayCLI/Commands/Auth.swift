import ArgumentParser
import Foundation
import PatchbayStore

extension Patchbay {
    struct Auth: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "OAuth 2.0 credentials of HTTP connectors (auth: oauth2).",
            subcommands: [AuthStatus.self, AuthLogin.self, AuthLogout.self])
    }

    struct AuthStatus: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Each OAuth connector's token: its state and expiry, who refreshes it, the last error. Never a token.",
            discussion: """
                States: valid (the access token has not expired), expired (the next request refreshes it),
                refreshing (a hub node holds the refresh lease), signed-out (no refresh token: the
                connector is paused until someone signs in again: `patchbay auth login NAME`), new (no access token yet).
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: JSONOption

        func run() async throws {
            let store: any CommandStore = try database.openStore(readOnly: true)
            let names = Dictionary(try store.connectors().map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            let rows = try store.oauthTokens().map { AuthRender.Row(record: $0, connector: names[$0.connector]) }
            if output.json {
                emit(AuthRender.json(rows, now: Date()).rendered(pretty: true))
            } else if rows.isEmpty {
                emit("No OAuth tokens yet: a connector with auth: {type: oauth2} gets them when the hub first sends, or from `patchbay auth login NAME`.")
            } else {
                emit(AuthRender.table(rows, now: Date()))
            }
        }
    }
}

/// `patchbay auth status` as rows, a table and JSON: pure functions of the stored records, which
/// leave every token value out.
enum AuthRender {
    struct Row: Equatable {
        var record: OAuthTokenRecord
        var connector: Connector?

        var name: String { connector?.name ?? "#\(record.connector)" }
    }

    static func state(_ row: Row, now: Date) -> String {
        let record = row.record
        if let until = record.refreshingUntil, record.refreshingOwner != nil, until > now.millis { return "refreshing" }
        if record.accessToken == nil {
            if record.refreshToken == nil, row.connector?.pausedBy == .auth { return "signed-out" }
            return "new"
        }
        if let expires = record.accessExpiresAt, expires <= now.millis { return "expired" }
        return "valid"
    }

    static func json(_ rows: [Row], now: Date) -> JSON {
        .array(rows.map { row in
            let record = row.record
            return [
                "connector": .string(row.name), "state": .string(state(row, now: now)),
                "access_expires_at": .time(record.accessExpiresAt), "has_refresh_token": .bool(record.refreshToken != nil),
                "scope": .string(record.scope), "version": .int(record.version),
                "refreshing_owner": .string(record.refreshingOwner), "refreshing_until": .time(record.refreshingUntil),
                "updated_at": .time(record.updatedAt), "last_error": .string(record.lastError),
                "paused_by": .string(row.connector?.pausedBy?.rawValue),
            ]
        })
    }

    static func table(_ rows: [Row], now: Date) -> String {
        var table = TextTable(["CONNECTOR", "STATE", "EXPIRES", "REFRESH TOKEN", "VERSION", "UPDATED", "LAST ERROR"])
        for row in rows {
            let record = row.record
            let expires = record.accessExpiresAt.map { Render.ago($0, now: now) } ?? "-"
            table.add([row.name, state(row, now: now), expires, record.refreshToken == nil ? "none" : "held",
                       "\(record.version)", Render.ago(record.updatedAt, now: now), record.lastError ?? "-"])
        }
        return table.rendered()
    }
}
