import Foundation
import PatchbayStore
import Testing
import TestSupport

/// `patchbay auth status`: each OAuth connector's token state, never a token.
@Suite("patchbay auth status")
struct AuthCLITests {
    @Test("states, expiry and last error as a table and as JSON; no access or refresh token is printed")
    func status() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("hub.sqlite")
        let store = try Store.open(at: db, mode: .create(homeCurrency: "EUR"))
        let now = Date()
        let sink = { (name: String) in
            try store.saveConnector(ConnectorSpec(name: name, module: "xero", pattern: .hub, system: "Xero", direction: .sink)).id
        }
        let (xero, quickbooks, lapsed) = (try sink("xero"), try sink("quickbooks"), try sink("lapsed"))
        try store.seedRefreshToken(connector: xero, refreshToken: "refresh-SECRET-1", now: now)
        guard case .acquired(let record) = try store.acquireRefreshLease(connector: xero, owner: "hub-1", until: now.addingTimeInterval(30),
                                                                         now: now) else { Issue.record("no lease"); return }
        _ = try store.commitRefresh(connector: xero, version: record.version, owner: "hub-1", grant: OAuthTokenGrant(
            accessToken: "access-SECRET-2", accessExpiresAt: now.addingTimeInterval(1800).millis, refreshToken: "refresh-SECRET-3",
            scope: "accounting.transactions"), now: now)
        try store.seedRefreshToken(connector: quickbooks, refreshToken: "refresh-SECRET-4", now: now)
        try store.seedRefreshToken(connector: lapsed, refreshToken: "refresh-SECRET-5", now: now)
        try store.pauseForAuth(connector: lapsed, reason: "paused: token endpoint answered HTTP 400 invalid_grant; sign in again", now: now)

        let table = try BinaryRunner.run(["auth", "status", "--db", db])
        #expect(table.status == 0, "\(table.stderr)")
        let lines = table.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first { $0.hasPrefix("xero ") }?.contains("valid") == true, "\(table.stdout)")
        #expect(lines.first { $0.hasPrefix("xero ") }?.contains("in 29m") == true || lines.first { $0.hasPrefix("xero ") }?.contains("in 30m") == true,
                "\(table.stdout)")
        #expect(lines.first { $0.hasPrefix("quickbooks ") }?.contains("new") == true, "\(table.stdout)")
        #expect(lines.first { $0.hasPrefix("lapsed ") }?.contains("signed-out") == true, "\(table.stdout)")
        #expect(table.stdout.contains("invalid_grant"))

        let json = try BinaryRunner.run(["auth", "status", "--json", "--db", db])
        #expect(json.status == 0, "\(json.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["connector"] as? String } == ["xero", "quickbooks", "lapsed"])
        #expect(rows.map { $0["state"] as? String } == ["valid", "new", "signed-out"])
        #expect(rows.map { $0["has_refresh_token"] as? Bool } == [true, true, false])
        #expect(rows[2]["paused_by"] as? String == "auth")
        for output in [table.stdout, table.stderr, json.stdout, json.stderr] {
            #expect(!output.contains("SECRET"), "a token was printed: \(output)")
        }
    }

    @Test("a database with no OAuth connector says how tokens come")
    func empty() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("hub.sqlite")
        _ = try Store.open(at: db, mode: .create(homeCurrency: "EUR"))
        let run = try BinaryRunner.run(["auth", "status", "--db", db])
        #expect(run.status == 0 && run.stdout.contains("No OAuth tokens yet"), "\(run.stdout)\(run.stderr)")
    }
}
