import AsyncHTTPClient
import Foundation
import Logging
import PatchbayConnectors
import PatchbayPostgres
import PatchbayStore
import Testing
import TestSupport
@testable import PatchbayRuntime

/// Two hub nodes' token services on one database, against a provider that allows no grace: each
/// refresh token is sent once, by one node, and both use what it committed.
@Suite("OAuth 2.0 tokens shared by nodes")
struct OAuthNodesTests {
    static let server: PostgresLocation? = ProcessInfo.processInfo.environment["PATCHBAY_TEST_POSTGRES_URL"]
        .flatMap { $0.isEmpty ? nil : try? PostgresLocation(url: $0) }

    /// Two handles on one database (as two nodes open it), the connector's id, and a cleanup.
    static func nodes(_ backend: String) throws -> (any TokenVault, any TokenVault, ConnectorID, () -> Void) {
        let spec = ConnectorSpec(name: "xero", module: "xero", pattern: .hub, system: "Xero", direction: .sink)
        if backend == "postgres" {
            let server = try #require(server)
            let name = "pb_oauth_\(UInt64.random(in: 0...UInt64.max))"
            let location = try PostgresAdmin.createDatabase(name, on: server)
            let a = try PostgresStore.open(location, mode: .create(homeCurrency: "EUR"), maxConnections: 4)
            let b = try PostgresStore.open(location, mode: .existing, maxConnections: 4)
            let id = try a.saveConnector(spec).id
            return (a, b, id, { a.close(); b.close(); try? PostgresAdmin.dropDatabase(name, on: server) })
        }
        let (a, directory) = try makeTestStore(homeCurrency: "EUR")
        let b = try Store.open(at: directory.path("test.sqlite"), mode: .existing)
        let id = try a.saveConnector(spec).id
        return (a, b, id, { directory.remove() })
    }

    static var backends: [String] { server != nil || ProcessInfo.processInfo.environment["CI"] != nil ? ["sqlite", "postgres"] : ["sqlite"] }

    @Test("two nodes, four requests each at a time, tokens expiring every 2 s, for at least 6 s: each refresh token sent once, no expired token used",
          arguments: backends)
    func oneRefreshAtATime(backend: String) async throws {
        let target = try await ScriptedTarget()
        defer { target.stop() }
        let provider = OAuthProvider(accessLifetime: 2, grace: 0)
        target.script("/connect/token") { request, _ in provider.token(request) }
        let (a, b, connector, cleanup) = try Self.nodes(backend)
        defer { cleanup() }
        try a.seedRefreshToken(connector: connector, refreshToken: provider.signIn(), now: Date())
        let client = OAuthClient(tokenURL: "\(target.url)/connect/token", clientId: provider.clientId,
                                 clientSecret: provider.clientSecret, grant: .refreshToken)
        var logger = Logger(label: "oauth-nodes")
        logger.logLevel = .critical
        let transport = HTTPClientTransport(client: HTTPClient.shared)
        let services = [("node-a", a), ("node-b", b)].map { owner, vault in
            OAuthTokenService(connector: connector, name: "xero", client: client, vault: vault, transport: transport,
                              owner: owner, logger: logger)
        }
        // A fixed amount of work, not a fixed time: 30 requests per task, 200 ms apart, so at least
        // 6 s of requests (three token lifetimes) however loaded the machine is.
        let started = Date()
        let failures = try await withThrowingTaskGroup(of: Int.self) { group in
            for service in services {
                for _ in 0..<4 {
                    group.addTask {
                        var failed = 0
                        for _ in 0..<30 {
                            do {
                                let token = try await service.bearerToken(rejected: nil)
                                _ = provider.api(Received(path: "/api", headers: ["authorization": "Bearer \(token.value)"], body: [], at: Date()))
                            } catch {
                                failed += 1
                            }
                            try await Task.sleep(for: .milliseconds(200))
                        }
                        return failed
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(failures == 0)
        let seen = provider.snapshot
        #expect(seen.unauthorized == 0 && seen.delivered == 240, "\(seen)")
        #expect(Set(provider.presented).count == provider.presented.count, "a refresh token was sent twice: \(provider.presented)")
        // 2 s tokens over at least 6 s of requests: at least two refreshes. One node refreshes for both,
        // about once per 1.3 s (a third of the lifetime early); one per node would be twice that.
        let most = Int(elapsed / 1.3) + 2
        #expect(seen.refreshes >= 2 && seen.refreshes <= most,
                "about one refresh per 1.3 s in all, not one per node: \(seen.refreshes) in \(Int(elapsed)) s (at most \(most))")
        let record = try #require(try a.oauthToken(connector: connector))
        #expect(record.lastError == nil && record.refreshToken != nil)
    }
}
