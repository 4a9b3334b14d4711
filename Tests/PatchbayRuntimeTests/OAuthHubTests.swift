import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import PatchbayConnectors
import PatchbayRuntime
import PatchbayStore
import Testing
import TestSupport

/// OAuth 2.0 sinks in a running hub, against a loopback provider (`OAuthProvider`).
@Suite("OAuth 2.0 sinks", .serialized)
struct OAuthHubTests {
    static func environment(_ provider: OAuthProvider, refreshToken: String?) -> [String: String] {
        var env = ["XERO_CLIENT_ID": provider.clientId, "XERO_CLIENT_SECRET": provider.clientSecret]
        if let refreshToken { env["XERO_REFRESH_TOKEN"] = refreshToken }
        return env
    }

    static func start(_ target: ScriptedTarget, _ provider: OAuthProvider, retry: String = "{max_attempts: 10, base_delay: 1s}")
        async throws -> RunningHub {
        target.script("/connect/token") { request, _ in provider.token(request) }
        target.script("/api.xro/Invoices") { request, _ in provider.api(request) }
        return try await RunningHub(yaml: """
            connectors:
              shop: {module: webhook, signature: shopify, secret: "${SHOPIFY_SECRET}", transform: shopify-order}
              xero:
                module: xero
                url: \(target.url)/api.xro/Invoices
                from: [shop]
                concurrency: 4
                retry: \(retry)
                auth:
                  type: oauth2
                  token_url: \(target.url)/connect/token
                  client_id: ${XERO_CLIENT_ID}
                  client_secret: ${XERO_CLIENT_SECRET}
                  grant: refresh_token
                  scopes: [accounting.transactions, offline_access]
                  refresh_token: ${XERO_REFRESH_TOKEN}
            """, environment: environment(provider, refreshToken: provider.signIn()))
    }

    /// The Shopify fixture as order `n` (a new body: Shopify signs the body alone, so a body sent
    /// again is a replay), signed.
    static func postOrder(_ hub: RunningHub, _ n: Int) async throws -> Int {
        var order = try JSONSerialization.jsonObject(with: Fixtures.data("shopify/orders-create.json")) as! [String: Any]
        order["id"] = 5_000_000 + n
        order["name"] = "#\(9000 + n)"
        let body = Array(try JSONSerialization.data(withJSONObject: order))
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(RunningHub.environment["SHOPIFY_SECRET"]!.utf8)))
        let (status, _) = try await hub.post("/webhooks/shop", body: body, headers: [
            ("Content-Type", "application/json"), ("X-Shopify-Topic", "orders/create"),
            ("X-Shopify-Hmac-Sha256", Data(mac).base64EncodedString()), ("X-Shopify-Webhook-Id", "order-\(n)"),
        ])
        return status
    }

    /// Every stored error text: deliveries, attempts, the connector, the tokens' last error.
    static func storedErrors(_ hub: RunningHub) throws -> [String] {
        var texts: [String] = []
        for delivery in try hub.deliveries(to: "xero") {
            texts += [delivery.lastError].compactMap { $0 }
            texts += try hub.store.attempts(delivery: delivery.id).flatMap { [$0.error, $0.responseExcerpt, $0.note].compactMap { $0 } }
        }
        let connector = try #require(try hub.store.connector(named: "xero"))
        texts += [connector.pausedReason, connector.lastError].compactMap { $0 }
        texts += try hub.store.oauthTokens().compactMap(\.lastError)
        return texts
    }

    @Test("tokens that expire every 2 s: 20 s of traffic all delivered, no request with an expired token, refresh tokens rotated and never reused after the commit, a node dying between the answer and the commit survived")
    func keepsDeliveringAcrossExpiries() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let provider = OAuthProvider(accessLifetime: 2, grace: 10)
        let hub = try await Self.start(target, provider)
        let xero = try #require(try hub.store.connector(named: "xero")).id
        let started = Date()
        var n = 0
        var crashedWith: String?
        while Date().timeIntervalSince(started) < 20 {
            n += 1
            #expect(try await Self.postOrder(hub, n) == 200)
            if crashedWith == nil, Date().timeIntervalSince(started) > 8 {
                crashedWith = try await Self.dieBetweenAnswerAndCommit(hub: hub, connector: xero, target: target, provider: provider)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        try await hub.wait(timeout: 30) { try hub.deliveries(to: "xero").allSatisfy { $0.state == .delivered } }
        let deliveries = try hub.deliveries(to: "xero")
        #expect(deliveries.count == n)
        #expect(deliveries.filter { $0.state == .delivered }.count == n, "every order delivered")
        // No failure of any kind, so none caused by auth: each delivered at its first attempt.
        #expect(deliveries.allSatisfy { $0.attempts == 1 }, "\(deliveries.filter { $0.attempts != 1 }.map { ($0.id, $0.attempts, $0.lastError ?? "") })")
        let seen = provider.snapshot
        #expect(seen.unauthorized == 0, "every request carried a valid, unexpired token")
        #expect(seen.delivered == n)
        #expect(seen.reuses.isEmpty, "a refresh token was sent again after its successor was committed: \(seen.reuses)")
        #expect(seen.refreshes >= 8, "tokens were refreshed ahead of expiry about every 1.3 s: \(seen.refreshes)")
        // The refresh token the dead node spent was sent again by the hub (the provider's grace).
        let crashed = try #require(crashedWith)
        #expect(provider.presented.filter { $0 == crashed }.count == 2, "\(provider.presented)")
        let record = try #require(try hub.store.oauthToken(connector: xero))
        #expect(record.refreshingOwner == nil || record.refreshingOwner != "dead-node")
        #expect(try hub.store.connector(named: "xero")?.paused == false)
        for text in try Self.storedErrors(hub) {
            #expect(!text.contains(provider.clientSecret) && !text.contains("rt-") && !text.contains("at-"), "\(text)")
        }
        await hub.stop()
    }

    /// Does what a node that dies between the token endpoint's answer and the commit leaves behind:
    /// its lease on the refresh (for 3 s), and a refresh token the provider has rotated, the answer
    /// lost. Returns the refresh token it spent.
    static func dieBetweenAnswerAndCommit(hub: RunningHub, connector: ConnectorID, target: ScriptedTarget,
                                          provider: OAuthProvider) async throws -> String {
        let other = try Store.open(at: hub.directory.path("hub.sqlite"), mode: .existing)
        let now = Date()
        var lease = try other.acquireRefreshLease(connector: connector, owner: "dead-node", until: now.addingTimeInterval(3), now: now)
        // The hub may be refreshing this very moment: wait for its lease to go.
        while case .held = lease {
            try await Task.sleep(for: .milliseconds(20))
            lease = try other.acquireRefreshLease(connector: connector, owner: "dead-node", until: Date().addingTimeInterval(3), now: Date())
        }
        guard case .acquired(let record) = lease, let refresh = record.refreshToken else { throw CocoaError(.featureUnsupported) }
        var request = HTTPClientRequest(url: "\(target.url)/connect/token")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Basic " + Data("\(provider.clientId):\(provider.clientSecret)".utf8).base64EncodedString())
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: "grant_type=refresh_token&refresh_token=\(refresh)"))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        #expect(response.status.code == 200)
        _ = try await response.body.collect(upTo: 1 << 16)
        // ...and the node is gone: nothing committed, nothing released.
        return refresh
    }

    @Test("invalid_grant pauses the connector with what to do, and no more requests go out: no loop of 401s")
    func invalidGrantPauses() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let provider = OAuthProvider(accessLifetime: 2, grace: 0)
        let hub = try await Self.start(target, provider)
        #expect(try await Self.postOrder(hub, 1) == 200)
        try await hub.wait { try hub.deliveries(to: "xero").first?.state == .delivered }
        provider.revokeAll()
        try await Task.sleep(for: .seconds(2))
        for i in 2...6 { #expect(try await Self.postOrder(hub, i) == 200) }
        try await hub.wait { try hub.store.connector(named: "xero")?.paused == true }
        let connector = try #require(try hub.store.connector(named: "xero"))
        #expect(connector.paused && connector.pausedBy == .auth)
        #expect(connector.pausedReason?.contains("invalid_grant") == true, "\(connector.pausedReason ?? "")")
        #expect(connector.pausedReason?.contains("sign in again") == true)
        let atPause = provider.snapshot
        try await Task.sleep(for: .seconds(3))
        let later = provider.snapshot
        #expect(later.api == atPause.api && later.refreshes == atPause.refreshes, "nothing is sent while paused")
        #expect(provider.presented.count <= 2, "one refused refresh, not a loop: \(provider.presented)")
        #expect(later.unauthorized == 0, "no request went out with an expired token")
        let waiting = try hub.deliveries(to: "xero").filter { $0.state != .delivered }
        #expect(waiting.count == 5 && waiting.allSatisfy { $0.state != .dead }, "the orders wait for the connector to resume")
        let record = try #require(try hub.store.oauthToken(connector: connector.id))
        #expect(record.refreshToken == nil && record.lastError?.contains("invalid_grant") == true)
        for text in try Self.storedErrors(hub) {
            #expect(!text.contains(provider.clientSecret) && !text.contains("rt-"), "\(text)")
        }
        await hub.stop()
    }

    @Test("a 401 from the API brings exactly one refresh and one retry; a second 401 right after is a retryable failure, not another refresh")
    func unauthorizedRefreshesOnce() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let provider = OAuthProvider(accessLifetime: 3600, grace: 0)
        let hub = try await Self.start(target, provider, retry: "{max_attempts: 5, base_delay: 60s}")
        #expect(try await Self.postOrder(hub, 1) == 200)
        try await hub.wait { try hub.deliveries(to: "xero").first?.state == .delivered }
        #expect(provider.snapshot.refreshes == 1 && provider.snapshot.api == 1)

        provider.force401(1)
        #expect(try await Self.postOrder(hub, 2) == 200)
        try await hub.wait { try hub.deliveries(to: "xero").filter { $0.state == .delivered }.count == 2 }
        var seen = provider.snapshot
        #expect(seen.refreshes == 2 && seen.api == 3, "one refresh, one retry: \(seen)")
        let sorted = try hub.deliveries(to: "xero").sorted { $0.id < $1.id }
        let second = sorted[1]
        #expect(second.attempts == 1)
        // The history says what happened around each send.
        let firstNote = try hub.store.attempts(delivery: sorted[0].id).first?.note
        #expect(firstNote?.hasPrefix("OAuth access token refreshed for this send, good until ") == true, "\(firstNote ?? "")")
        #expect(try hub.store.attempts(delivery: second.id).first?.note
            == "HTTP 401 with the OAuth access token held: refreshed it and sent again")

        provider.force401(2)
        #expect(try await Self.postOrder(hub, 3) == 200)
        try await hub.wait { try hub.deliveries(to: "xero").contains { $0.state == .retrying } }
        try await Task.sleep(for: .milliseconds(500))
        seen = provider.snapshot
        #expect(seen.refreshes == 3 && seen.api == 5, "a second 401 brings no second refresh: \(seen)")
        let third = try #require(try hub.deliveries(to: "xero").first { $0.state == .retrying })
        #expect(third.attempts == 1)
        #expect(third.lastError?.contains("HTTP 401 again") == true, "\(third.lastError ?? "")")
        // The API echoed the refused tokens: none is stored.
        for text in try Self.storedErrors(hub) {
            #expect(!text.contains("at-") && !text.contains(provider.clientSecret), "\(text)")
        }
        #expect(try hub.store.connector(named: "xero")?.paused == false)
        await hub.stop()
    }

    @Test("client_credentials: a token for the client's own credentials and scopes, no refresh token")
    func clientCredentials() async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let provider = OAuthProvider(accessLifetime: 1800, grace: 0)
        target.script("/connect/token") { request, _ in provider.token(request) }
        target.script("/api/orders") { request, _ in provider.api(request) }
        let hub = try await RunningHub(yaml: """
            connectors:
              events: {module: webhook, signature: github, secret: "${GITHUB_SECRET}"}
              xero:
                module: http
                url: \(target.url)/api/orders
                subscribe: [order_created]
                auth: {type: oauth2, token_url: "\(target.url)/connect/token", client_id: "${XERO_CLIENT_ID}",
                       client_secret: "${XERO_CLIENT_SECRET}", grant: client_credentials,
                       scopes: [accounting.transactions, accounting.contacts]}
            """, environment: Self.environment(provider, refreshToken: nil))
        _ = try await hub.postEvent("order_created", body: #"{"order":"A"}"#)
        _ = try await hub.postEvent("order_created", body: #"{"order":"B"}"#)
        try await hub.wait { try hub.deliveries(to: "xero").filter { $0.state == .delivered }.count == 2 }
        #expect(provider.snapshot.refreshes == 1 && provider.snapshot.unauthorized == 0)
        let form = String(decoding: try #require(target.requests("/connect/token").first).body, as: UTF8.self)
        #expect(form == "grant_type=client_credentials&scope=accounting.transactions%20accounting.contacts")
        let id = try #require(try hub.store.connector(named: "xero")).id
        #expect(try hub.store.oauthToken(connector: id)?.refreshToken == nil)
        await hub.stop()
    }
}
