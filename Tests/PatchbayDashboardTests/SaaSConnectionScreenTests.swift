import Foundation
import PatchbayDashboard
import PatchbayStore
import TerminalUI
import Testing

/// A SaaS connection's standing on the connectors view (2): its OAuth token's state (never the
/// token) and what the provider's last answer said is left of its quota; and an attempt's note in
/// the event detail.
@Suite("Dashboard: a SaaS connection's token and quota, an attempt's note")
struct SaaSConnectionScreenTests {
    /// The access and refresh tokens stored for xero: neither may reach a cell.
    static let accessToken = "eyJhbGciOiJSUzI1NiJ9.access-SECRET-4f9a"
    static let refreshToken = "refresh-SECRET-77c2e1"

    /// `shop` (source) → `xero` and `erp` (sinks), nothing seeded.
    struct Fixture {
        let harness: Harness
        let shop: ConnectorID
        let xero: ConnectorID
        let erp: ConnectorID
        var store: Store { harness.store }
        var now: Date { harness.dashboard.state.now }
    }

    func fixture() throws -> Fixture {
        let harness = try Harness(seed: false)
        let store = harness.store
        func connector(_ name: String, _ direction: ConnectorDirection) throws -> ConnectorID {
            try store.saveConnector(ConnectorSpec(name: name, module: direction == .source ? "webhook" : "http",
                                                  pattern: .event, system: name, direction: direction), now: fixedNow).id
        }
        let shop = try connector("shop", .source)
        let xero = try connector("xero", .sink)
        let erp = try connector("erp", .sink)
        harness.dashboard.reload()
        return Fixture(harness: harness, shop: shop, xero: xero, erp: erp)
    }

    /// Selects the connectors view's row of `name` (rows in name order, unsorted).
    private func select(_ name: String, in harness: Harness) throws {
        harness.press(.character("2"))
        let index = try #require(harness.dashboard.state.connectorStatuses.firstIndex { $0.connector.name == name })
        harness.press(.character("g"))
        for _ in 0..<index { harness.press(.character("j")) }
        #expect(harness.dashboard.state.connectorStatuses[index].connector.name == name)
    }

    /// The detail line under the connectors table: the one that starts with `name · `.
    private func detailLine(_ name: String, _ buffer: Buffer, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let lines = buffer.lines().filter { $0.contains("\(name) · sink · ") || $0.contains("\(name) · source · ") }
        #expect(lines.count == 1, "one detail line for \(name): \(lines)", sourceLocation: sourceLocation)
        return try #require(lines.first, sourceLocation: sourceLocation).trimmingCharacters(in: .whitespaces)
            .trimmingCharacters(in: CharacterSet(charactersIn: "│ "))
    }

    /// Signs xero in 6 minutes ago with a token good for 30 minutes (24 left), and stores a quota reading.
    private func signInAndRead(_ f: Fixture, quotaAge: TimeInterval) throws {
        _ = try f.store.storeSignIn(connector: f.xero,
                                    grant: OAuthTokenGrant(accessToken: Self.accessToken,
                                                           accessExpiresAt: f.now.addingTimeInterval(24 * 60).millis,
                                                           refreshToken: Self.refreshToken, scope: "accounting.transactions",
                                                           tokenType: "Bearer"),
                                    now: f.now.addingTimeInterval(-6 * 60))
        try f.store.recordQuota(APIQuota(connector: f.xero, dayRemaining: 4_812, dayLimit: 5_000, minuteRemaining: 57,
                                         appMinuteRemaining: 9_940, observedAt: f.now.addingTimeInterval(-quotaAge).millis))
        f.harness.dashboard.reload()
    }

    @Test("a sink with tokens and a fresh quota reading shows both on its detail line, no age; a sink without shows neither")
    func tokenAndQuotaOnTheDetailLine() throws {
        let f = try fixture()
        try signInAndRead(f, quotaAge: 20)
        try select("xero", in: f.harness)
        #expect(f.harness.dashboard.state.connectorHealth.tokens[f.xero]?.hasAccessToken == true)
        #expect(f.harness.dashboard.state.connectorHealth.quotas[f.xero]?.dayRemaining == 4_812)
        let line = try detailLine("xero", f.harness.screen(200, 40))
        #expect(line == "xero · sink · 0 failing · token good 24m (refreshed 6m ago) · quota 4,812/5,000 left today · 57 left this minute",
                "\(line)")
        #expect(!line.contains("(read"), "a reading under a minute old says no age")
        // At the standard width the whole standing still fits on the line.
        let standard = try detailLine("xero", f.harness.screen(120, 40))
        #expect(standard.contains("token good 24m (refreshed 6m ago)"), "\(standard)")
        #expect(standard.contains("quota 4,812/5,000 left today · 57 left this minute"), "\(standard)")

        try select("erp", in: f.harness)
        let erp = try detailLine("erp", f.harness.screen(200, 40))
        #expect(erp.hasPrefix("erp · sink · 0 failing"), "\(erp)")
        #expect(!erp.contains("token"), "\(erp)")
        #expect(!erp.contains("quota"), "\(erp)")
        #expect(!erp.contains("left today"), "\(erp)")
    }

    @Test("the token values never reach a cell, on any screen or size")
    func tokenValuesNeverShow() throws {
        let f = try fixture()
        try signInAndRead(f, quotaAge: 20)
        try select("xero", in: f.harness)
        var screens: [String] = []
        for size in [(200, 50), (120, 40), (80, 24)] {
            screens.append(f.harness.screen(size.0, size.1).text)
        }
        #expect(screens.contains { $0.contains("token good 24m") }, "the token's state is on screen, so the check is live")
        for key in ["1", "3", "4", "5", "9"] {
            f.harness.press(.character(Character(key)))
            screens.append(f.harness.screen(200, 50).text)
        }
        f.harness.press(.character("2"), .character("?"))
        screens.append(f.harness.screen(200, 50).text)
        for text in screens {
            for secret in [Self.accessToken, Self.refreshToken, "SECRET", "eyJhbGci"] {
                #expect(!text.contains(secret), "\(secret) on screen")
            }
        }
    }

    @Test("a reading over a minute old says how old it is, and no longer shows its minute's count")
    func oldReadingSaysItsAge() throws {
        let f = try fixture()
        try signInAndRead(f, quotaAge: 5 * 60)
        try select("xero", in: f.harness)
        let line = try detailLine("xero", f.harness.screen(200, 40))
        // The minute's count is gone with its minute; the day's stays, with its age.
        #expect(line.hasSuffix("· quota 4,812/5,000 left today (read 5m ago)"), "\(line)")

        // A newer reading replaces it and the age goes away; one with only a minute count shows only that.
        try f.store.recordQuota(APIQuota(connector: f.xero, minuteRemaining: 0, observedAt: f.now.millis))
        f.harness.dashboard.reload()
        let fresh = try detailLine("xero", f.harness.screen(200, 40))
        #expect(fresh.hasSuffix("(refreshed 6m ago) · 0 left this minute"), "\(fresh)")
        #expect(!fresh.contains("left today"), "\(fresh)")
        #expect(!fresh.contains("(read"), "\(fresh)")
    }

    @Test("an expired token says since when; dropped tokens say why; a row without an access token says none yet")
    func tokenStates() throws {
        let f = try fixture()
        _ = try f.store.storeSignIn(connector: f.xero,
                                    grant: OAuthTokenGrant(accessToken: Self.accessToken,
                                                           accessExpiresAt: f.now.addingTimeInterval(-30 * 60).millis,
                                                           refreshToken: Self.refreshToken),
                                    now: f.now.addingTimeInterval(-90 * 60))
        f.harness.dashboard.reload()
        try select("xero", in: f.harness)
        #expect(try detailLine("xero", f.harness.screen(200, 40)) == "xero · sink · 0 failing · token expired 30m ago (refreshed 1h30m ago)")

        // A refused refresh drops the tokens and pauses the connector: the line says what the provider said.
        #expect(try f.store.pauseForAuth(connector: f.xero, reason: "invalid_grant: the refresh token was revoked",
                                         now: f.now.addingTimeInterval(-60)))
        f.harness.dashboard.reload()
        let dropped = try detailLine("xero", f.harness.screen(200, 40))
        #expect(dropped.hasSuffix(" · token: invalid_grant: the refresh token was revoked"), "\(dropped)")
        #expect(!dropped.contains("token good") && !dropped.contains("expired"), "\(dropped)")

        // Only a refresh token seeded from the configuration, no access token yet.
        #expect(try f.store.seedRefreshToken(connector: f.erp, refreshToken: Self.refreshToken, now: f.now))
        f.harness.dashboard.reload()
        try select("erp", in: f.harness)
        let seeded = f.harness.screen(200, 40)
        #expect(try detailLine("erp", seeded) == "erp · sink · 0 failing · token: none yet")
        #expect(!seeded.text.contains(Self.refreshToken))
    }

    @Test("a refresh error holding escape sequences shows as visible text: no control reaches a cell")
    func hostileTokenError() throws {
        let f = try fixture()
        _ = try f.store.storeSignIn(connector: f.xero,
                                    grant: OAuthTokenGrant(accessToken: Self.accessToken, accessExpiresAt: nil,
                                                           refreshToken: Self.refreshToken), now: f.now)
        #expect(try f.store.pauseForAuth(connector: f.xero, reason: "invalid_grant \u{1B}]0;pwned\u{07}\u{9B}2J gone",
                                         now: f.now))
        f.harness.dashboard.reload()
        try select("xero", in: f.harness)
        for screen in [f.harness.screen(200, 40), f.harness.screen(80, 24)] {
            #expect(screen.text.contains("token: invalid_grant"), "the reason shows, so the check is live")
            for cell in screen.cells {
                #expect(!cell.symbol.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) },
                        "\(cell.symbol.debugDescription)")
            }
        }
    }

    @Test("the event detail shows an attempt's note on its attempt line, and only there")
    func attemptNoteInEventDetail() throws {
        let f = try fixture()
        let note = "OAuth access token refreshed for this send, good until 2026-11-25T10:30:00Z"
        let result = try f.store.ingest(NewEvent(topic: "invoice_created", sourceId: f.shop, idempotencyKey: "inv-1",
                                                 payload: #"{"invoice":"INV-1"}"#, receivedAt: fixedNow.addingTimeInterval(-600),
                                                 targets: [DeliveryTarget(connectorId: f.xero, maxAttempts: 3),
                                                           DeliveryTarget(connectorId: f.erp, maxAttempts: 3)]))
        let claims = try f.store.claimDueDeliveries(limit: 10, lease: 60, owner: "w", now: fixedNow.addingTimeInterval(-300))
        #expect(claims.count == 2)
        _ = try f.store.record(claims.map { claim in
            let toXero = claim.connectorId == f.xero
            return DeliveryOutcome(deliveryId: claim.deliveryId, leaseToken: claim.leaseToken, result: .delivered,
                                   startedAt: fixedNow.addingTimeInterval(-300), durationMs: toXero ? 412 : 7,
                                   statusCode: 200, note: toXero ? note : nil)
        }, now: fixedNow.addingTimeInterval(-299))

        f.harness.press(.character(":"))
        f.harness.type("show \(result.eventId)")
        f.harness.press(.enter)
        #expect(f.harness.dashboard.state.screen == .detail(result.eventId))
        let lines = f.harness.screen(200, 40).lines()
        let noted = lines.filter { $0.contains("412 ms success 200") }
        #expect(noted.count == 1, "\(lines.joined(separator: "\n"))")
        #expect(noted.first?.contains("#1 ") == true)
        #expect(noted.first?.contains("412 ms success 200  · \(note)") == true, "\(noted)")
        let plain = lines.filter { $0.contains("7 ms success 200") }
        #expect(plain.count == 1)
        #expect(plain.first.map { !$0.contains("OAuth") && !$0.contains(" · ") } == true, "the other attempt has no note: \(plain)")
        #expect(lines.filter { $0.contains("OAuth access token refreshed") }.count == 1, "the note shows once")
    }

    @Test("a batch job's standing goes on its second line, after the next run, so its first line keeps the last run whole")
    func batchJobStandingOnTheSecondLine() throws {
        let f = try fixture()
        let pull = try f.store.saveConnector(ConnectorSpec(name: "xero-ar", module: "xero-invoices-pull", pattern: .batch,
                                                           system: "Xero", direction: .source), now: fixedNow).id
        let run = try f.store.beginBatchRun(job: "xero-ar", connector: pull, input: "pages of 100", now: f.now.addingTimeInterval(-120))
        _ = try f.store.finishBatchRun(run.runId, source: pull, snapshot: false, currencies: nil, rowsRejected: 0,
                                       now: f.now.addingTimeInterval(-119))
        _ = try f.store.storeSignIn(connector: pull, grant: OAuthTokenGrant(accessToken: Self.accessToken,
                                                                             accessExpiresAt: f.now.addingTimeInterval(1500).millis,
                                                                             refreshToken: nil),
                                    now: f.now.addingTimeInterval(-300))
        try f.store.recordQuota(APIQuota(connector: pull, dayRemaining: 4_998, dayLimit: 5_000, minuteRemaining: 58,
                                         observedAt: f.now.addingTimeInterval(-10).millis))
        f.harness.dashboard.reload()
        try select("xero-ar", in: f.harness)
        let lines = f.harness.screen(200, 40).lines()
        let index = try #require(lines.firstIndex { $0.contains("xero-ar · batch job · ") }, "\(lines)")
        #expect(lines[index].contains("last run 2m ago succeeded") && !lines[index].contains("token"), "\(lines[index])")
        let second = lines[index + 1]
        #expect(second.contains("· token good 25m (refreshed 5m ago) · quota 4,998/5,000 left today · 58 left this minute"),
                "\(second)")
        #expect(!lines.joined().contains(Self.accessToken))
    }
}
