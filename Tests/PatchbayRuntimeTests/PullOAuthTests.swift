import Foundation
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore
import Testing
import TestSupport

/// The API pulls (`xero-invoices-pull`, `quickbooks-online`) with `auth: {type: oauth2}` in a running
/// hub: the token service the sinks use, refreshed ahead of expiry, a 401 refreshed once, a refused
/// grant pausing the job, and Xero's quota kept on the connector.
@Suite("API pulls with OAuth 2.0", .serialized)
struct PullOAuthTests {
    static func auth(_ target: ScriptedTarget) -> String {
        """
            auth:
              type: oauth2
              token_url: \(target.url)/connect/token
              client_id: ${XERO_CLIENT_ID}
              client_secret: ${XERO_CLIENT_SECRET}
              grant: refresh_token
              refresh_token: ${XERO_REFRESH_TOKEN}
        """
    }

    @Test("xero-invoices-pull: tokens that expire every 2 s across a run with a 401 and a 2 s rate-limit wait; every page read, no expired token sent, the refresh token rotated, and Xero's daily quota on the connector")
    func xeroPullRefreshes() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let provider = OAuthProvider(accessLifetime: 2, grace: 10)
        target.script("/connect/token") { request, _ in provider.token(request) }
        let mock = try await XeroAPIMock()
        defer { mock.stop() }
        mock.authorize { provider.accepts(authorization: $0) }
        // The first request is refused whatever its token (revoked early); the fourth waits out a
        // minute limit for 2 s, longer than the token it was about to carry stays fresh.
        provider.force401(1)
        mock.answer { n, _ in n == 4 ? (429, ["Retry-After": "2", "X-Rate-Limit-Problem": "minute"], "") : nil }
        let hub = try await RunningHub(yaml: """
            connectors:
              xero-ar:
                module: xero-invoices-pull
                base_url: \(mock.baseURL)
                page_size: 1
                headers:
                  Xero-Tenant-Id: \(xeroTenant)
                schedule: hourly
            \(Self.auth(target))
            """, environment: OAuthHubTests.environment(provider, refreshToken: provider.signIn()))
        try await hub.wait(timeout: 60) { try hub.store.lastBatchRun(job: "xero-ar")?.status == .succeeded }
        let run = try #require(try hub.store.lastBatchRun(job: "xero-ar"))
        #expect(run.status == .succeeded && run.rowsRead == 5, "\(run)")
        #expect(try hub.store.aging(asOf: "2026-11-30", by: .due) == (try await xeroAgingFromCSV()))
        let seen = provider.snapshot
        #expect(seen.unauthorized == 1, "only the forced 401: no request carried an expired token (\(seen))")
        #expect(seen.refreshes >= 3, "the first token, one after the 401, one after the wait: \(seen.refreshes)")
        #expect(seen.reuses.isEmpty, "\(seen.reuses)")
        #expect(mock.calls.count == 9, "5 pages of one, 2 empty ends, the refused one and the throttled one: \(mock.calls.count)")

        // The quota of the last answer reaches the connector (written at most every 2 s).
        let id = try #require(try hub.store.connector(named: "xero-ar")).id
        let lastAnswer = 5000 - mock.calls.count
        try await hub.wait(timeout: 20) { try hub.store.quotas().first { $0.connector == id }?.dayRemaining == lastAnswer }
        let quota = try #require(try hub.store.quotas().first { $0.connector == id })
        #expect(quota.dayRemaining == lastAnswer && quota.dayLimit == 5000)
        #expect(quota.minuteRemaining == max(0, 60 - mock.calls.count))
        // Nothing stored holds a token.
        for text in [run.error, run.input].compactMap({ $0 }) + (try hub.store.oauthTokens().compactMap(\.lastError)) {
            #expect(!text.contains("at-") && !text.contains("rt-") && !text.contains(provider.clientSecret), "\(text)")
        }
        await hub.stop()
    }

    @Test("quickbooks-online: a refused refresh token (invalid_grant) fails the run with what to do, pauses the job as auth, and nothing more is asked of QuickBooks or the token endpoint")
    func refusedGrantPausesThePull() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let provider = OAuthProvider(accessLifetime: 3600, grace: 0)
        target.script("/connect/token") { request, _ in provider.token(request) }
        let mock = try await QuickBooksOnlineMock(token: "never-issued")
        defer { mock.stop() }
        let refresh = provider.signIn()
        provider.revokeAll()
        let hub = try await RunningHub(yaml: """
            connectors:
              qbo-ar:
                module: quickbooks-online
                base_url: \(mock.baseURL)
                realm_id: "\(mock.realm)"
                schedule: every 2s
            \(Self.auth(target))
            """, environment: OAuthHubTests.environment(provider, refreshToken: refresh))
        try await hub.wait(timeout: 30) { try hub.store.connector(named: "qbo-ar")?.paused == true }
        let connector = try #require(try hub.store.connector(named: "qbo-ar"))
        #expect(connector.pausedBy == .auth)
        #expect(connector.pausedReason?.contains("invalid_grant") == true && connector.pausedReason?.contains("patchbay auth login qbo-ar") == true,
                "\(connector.pausedReason ?? "")")
        try await hub.wait { try hub.store.batchRuns(limit: 10).contains { $0.status == .failed } }
        let failed = try #require(try hub.store.batchRuns(limit: 10).first { $0.status == .failed })
        #expect(failed.error?.contains("invalid_grant") == true, "\(failed.error ?? "")")
        // A schedule of 2 s, yet a paused job is not run: one refused refresh, no query.
        try await Task.sleep(for: .seconds(5))
        #expect(provider.presented == [refresh], "\(provider.presented)")
        #expect(mock.queries.isEmpty)
        await hub.stop()
    }
}
