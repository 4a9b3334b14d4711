import AsyncHTTPClient
import Crypto
import Foundation
import PatchbayConnectors
import PatchbayStore
import Testing
import TestSupport

/// `patchbay auth login` and `auth logout`, the real binary against a loopback authorization
/// server: the test reads the printed URL and plays the browser.
@Suite("patchbay auth login and logout", .serialized)
struct AuthLoginTests {
    static let clientId = "client-id-login"
    static let clientSecret = "client-secret-never-printed"
    static let environment = ["XERO_CLIENT_ID": clientId, "XERO_CLIENT_SECRET": clientSecret]

    /// The authorization server: a token endpoint that checks the PKCE verifier against the
    /// challenge of the URL the browser was sent to and the redirect URI, `/connections`, and a
    /// revocation endpoint.
    final class Provider: @unchecked Sendable {
        let target: ScriptedTarget
        private let lock = NSLock()
        var challenge: String? {
            get { lock.withLock { storedChallenge } }
            set { lock.withLock { storedChallenge = newValue } }
        }
        var redirectURI: String? {
            get { lock.withLock { storedRedirect } }
            set { lock.withLock { storedRedirect = newValue } }
        }
        private var storedChallenge: String?
        private var storedRedirect: String?
        private(set) var exchanges: [String: String] = [:]
        private(set) var revoked: [String] = []

        init(revokeStatus: Int = 200) async throws {
            target = try await ScriptedTarget()
            target.script("/connect/token") { request, _ in self.token(request) }
            target.script("/connections") { request, _ in
                guard Self.header(request, "authorization") == "Bearer at-login-1" else { return Reply(status: 401) }
                return Reply(status: 200, body: #"[{"id":"c1","tenantId":"tenant-1","tenantType":"ORGANISATION","tenantName":"Demo Company (Global)"}]"#)
            }
            target.script("/connect/revocation") { request, _ in
                let form = Self.form(request)
                self.lock.withLock { self.revoked.append(form["token"] ?? "") }
                return Reply(status: revokeStatus, body: revokeStatus == 200 ? "" : #"{"error":"server_error"}"#)
            }
        }

        static func header(_ request: Received, _ name: String) -> String? {
            request.headers.first { $0.key.lowercased() == name }?.value
        }

        static func form(_ request: Received) -> [String: String] {
            Dictionary(String(decoding: request.body, as: UTF8.self).split(separator: "&").compactMap { pair -> (String, String)? in
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
                return parts.count == 2 ? (parts[0], parts[1]) : nil
            }, uniquingKeysWith: { _, last in last })
        }

        func token(_ request: Received) -> Reply {
            let basic = "Basic " + Data("\(AuthLoginTests.clientId):\(AuthLoginTests.clientSecret)".utf8).base64EncodedString()
            guard Self.header(request, "authorization") == basic else { return Reply(status: 401, body: #"{"error":"invalid_client"}"#) }
            let form = Self.form(request)
            lock.withLock { exchanges = form }
            let verifier = form["code_verifier"] ?? ""
            let hashed = Data(SHA256.hash(data: Data(verifier.utf8))).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            guard form["grant_type"] == "authorization_code", form["code"] == "code-123", verifier.count >= 43,
                  hashed == challenge, form["redirect_uri"] == redirectURI else {
                return Reply(status: 400, body: #"{"error":"invalid_grant"}"#)
            }
            return Reply(status: 200, body: #"{"access_token":"at-login-1","expires_in":1800,"token_type":"Bearer","refresh_token":"rt-login-1","scope":"accounting.transactions offline_access"}"#)
        }

        var lastExchange: [String: String] { lock.withLock { exchanges } }
        var revokedTokens: [String] { lock.withLock { revoked } }
    }

    /// A running `patchbay` whose output is read as it comes.
    final class Running: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var out = Data()
        private var drained = false

        init(_ arguments: [String], environment: [String: String]) throws {
            process.executableURL = HubProcessTests.binary
            process.arguments = arguments
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            process.standardInput = FileHandle.nullDevice
            try process.run()
            let handle = pipe.fileHandleForReading
            Thread {
                while true {
                    let data = handle.availableData
                    if data.isEmpty { break }
                    self.lock.withLock { self.out.append(data) }
                }
                self.lock.withLock { self.drained = true }
            }.start()
        }

        var output: String { lock.withLock { String(decoding: out, as: UTF8.self) } }

        /// The authorization URL, once printed.
        func authorizationURL(timeout: TimeInterval = 60) async throws -> URLComponents {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if let line = output.split(separator: "\n").first(where: { $0.contains("code_challenge=") }),
                   let components = URLComponents(string: line.trimmingCharacters(in: .whitespaces)) {
                    return components
                }
                if !process.isRunning { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            throw CLIFailure("no authorization URL; output: \(output)")
        }

        func finish(timeout: TimeInterval = 60) async -> (status: Int32, output: String) {
            let process = process
            let deadline = Date().addingTimeInterval(timeout)
            let exited = await onOwnThread { () -> Bool in
                while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
                return !process.isRunning
            }
            if !exited { process.terminate() }
            // The reader thread may still be draining the pipe: wait for its end of file.
            let drainedBy = Date().addingTimeInterval(30)
            while !lock.withLock({ drained }), Date() < drainedBy { try? await Task.sleep(for: .milliseconds(20)) }
            return (exited ? process.terminationStatus : -1, output)
        }
    }

    struct CLIFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func yaml(_ provider: Provider, redirectPort: Int, module: String = "xero", headers: String = "") -> String {
        // An API pull (`xero-invoices-pull`) is scheduled and reads a base URL; a sink sends to a URL.
        let shape = module.hasSuffix("-pull")
            ? "base_url: \(provider.target.url)\(headers)\n    schedule: hourly"
            : "url: \(provider.target.url)/api.xro/Invoices\n    from: [shop]\(headers)"
        return """
        connectors:
          shop: {module: webhook, signature: shopify, secret: "${XERO_CLIENT_SECRET}", transform: shopify-order}
          xero:
            module: \(module)
            \(shape)
            auth:
              type: oauth2
              token_url: \(provider.target.url)/connect/token
              authorize_url: \(provider.target.url)/authorize
              revoke_url: \(provider.target.url)/connect/revocation
              redirect_port: \(redirectPort)
              client_id: ${XERO_CLIENT_ID}
              client_secret: ${XERO_CLIENT_SECRET}
              grant: refresh_token
              scopes: [accounting.transactions, offline_access]
        """
    }

    struct Setup {
        var directory: TemporaryDirectory
        var config: URL
        var db: String
        var store: Store
        var connector: ConnectorID
        var port: Int
    }

    /// A configuration and a database where the connector exists; paused by a refused refresh when asked.
    static func setup(_ provider: Provider, pausedByAuth: Bool = false, module: String = "xero", headers: String = "") throws -> Setup {
        let directory = try TemporaryDirectory()
        let port = try PatchbayRuntimeSupport.freePort()
        let text = yaml(provider, redirectPort: port, module: module, headers: headers)
        let config = directory.url.appendingPathComponent("patchbay.yaml")
        try text.write(to: config, atomically: true, encoding: .utf8)
        let hub = try HubConfig.parse(yaml: text, file: "patchbay.yaml", context: ModuleContext(
            environment: environment, baseDirectory: directory.url, transport: nil))
        let db = directory.url.appendingPathComponent("hub.sqlite").path
        let store = try Store.open(at: db, mode: .create(homeCurrency: "USD"))
        let definition = try #require(hub.connectors.first { $0.name == "xero" })
        let id = try store.saveConnector(definition.spec).id
        if pausedByAuth {
            try store.seedRefreshToken(connector: id, refreshToken: "rt-old", now: Date())
            try store.pauseForAuth(connector: id, reason: "paused: token endpoint answered HTTP 400 invalid_grant; sign in again",
                                   now: Date())
        }
        return Setup(directory: directory, config: config, db: db, store: store, connector: id, port: port)
    }

    static func login(_ setup: Setup, _ provider: Provider, extra: [String] = []) throws -> Running {
        try Running(["auth", "login", "xero", "--config", setup.config.path, "--db", setup.db, "--timeout", "2m",
                     "--xero-connections-url", provider.target.url + "/connections"] + extra, environment: environment)
    }

    /// Plays the browser: GETs the redirect URI with these query items.
    static func redirect(_ uri: String, _ items: [(String, String)]) async throws -> (Int, String) {
        var components = try #require(URLComponents(string: uri))
        components.queryItems = items.map { URLQueryItem(name: $0.0, value: $0.1) }
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: try #require(components.string)), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    @Test("login: the URL carries PKCE S256 and state; the redirect's code is exchanged with the verifier; tokens stored, the connector resumed, the Xero tenant named; logout revokes and deletes")
    func loginAndLogout() async throws {
        let provider = try await Provider()
        defer { provider.target.stop() }
        let setup = try Self.setup(provider, pausedByAuth: true)
        defer { setup.directory.remove() }
        #expect(try setup.store.connector(named: "xero")?.pausedBy == .auth)

        let running = try Self.login(setup, provider)
        let url = try await running.authorizationURL()
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { first, _ in first })
        let redirectURI = "http://127.0.0.1:\(setup.port)/callback"
        #expect(url.path == "/authorize" && url.port == provider.target.port)
        #expect(query["response_type"] == "code" && query["client_id"] == Self.clientId && query["redirect_uri"] == redirectURI)
        #expect(query["scope"] == "accounting.transactions offline_access" && query["code_challenge_method"] == "S256")
        let state = try #require(query["state"])
        let challenge = try #require(query["code_challenge"])
        #expect(challenge.count == 43 && state.count >= 16)
        #expect(running.output.contains("waiting for the redirect"))
        provider.challenge = challenge
        provider.redirectURI = redirectURI

        // A browser's other request (a favicon) is answered 404 and the wait goes on.
        let favicon = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(setup.port)/favicon.ico"),
                                                          timeout: .seconds(30))
        #expect(favicon.status.code == 404)

        let (status, page) = try await Self.redirect(redirectURI, [("code", "code-123"), ("state", state)])
        #expect(status == 200 && page.contains("close this tab"))
        let (exit, output) = await running.finish()
        #expect(exit == 0, "\(output)")
        #expect(provider.lastExchange["grant_type"] == "authorization_code" && provider.lastExchange["redirect_uri"] == redirectURI)
        #expect(output.contains("Resumed xero") && output.contains("tenant-1") && output.contains("Demo Company (Global)"))
        for secret in [Self.clientSecret, "at-login-1", "rt-login-1", provider.lastExchange["code_verifier"] ?? "?"] {
            #expect(!output.contains(secret), "printed a secret")
        }

        let record = try #require(try setup.store.oauthToken(connector: setup.connector))
        #expect(record.accessToken == "at-login-1" && record.refreshToken == "rt-login-1" && record.lastError == nil)
        #expect(try setup.store.connector(named: "xero")?.paused == false)
        let (statusExit, statusOutput) = await (try Running(["auth", "status", "--db", setup.db], environment: [:])).finish()
        #expect(statusExit == 0 && statusOutput.contains("valid"), "\(statusOutput)")

        let (logoutExit, logoutOutput) = await (try Running(["auth", "logout", "xero", "--config", setup.config.path, "--db", setup.db],
                                                            environment: Self.environment)).finish()
        #expect(logoutExit == 0, "\(logoutOutput)")
        #expect(logoutOutput.contains("Revoked") && !logoutOutput.contains("rt-login-1"))
        #expect(provider.revokedTokens == ["rt-login-1"])
        #expect(try setup.store.oauthToken(connector: setup.connector) == nil)
    }

    @Test("login signs an API pull in as it does a sink: xero-invoices-pull's tenant checked, its tokens stored, the job resumed")
    func loginForAPull() async throws {
        let provider = try await Provider()
        defer { provider.target.stop() }
        let setup = try Self.setup(provider, pausedByAuth: true, module: "xero-invoices-pull",
                                   headers: "\n    headers: {Xero-Tenant-Id: tenant-1}")
        defer { setup.directory.remove() }
        #expect(try setup.store.connector(named: "xero")?.pausedBy == .auth)
        let running = try Self.login(setup, provider)
        let url = try await running.authorizationURL()
        let state = try #require(url.queryItems?.first { $0.name == "state" }?.value)
        provider.challenge = try #require(url.queryItems?.first { $0.name == "code_challenge" }?.value)
        let redirectURI = "http://127.0.0.1:\(setup.port)/callback"
        provider.redirectURI = redirectURI
        let (status, _) = try await Self.redirect(redirectURI, [("code", "code-123"), ("state", state)])
        #expect(status == 200)
        let (exit, output) = await running.finish()
        #expect(exit == 0 && output.contains("Resumed xero") && output.contains("tenant-1"), "\(output)")
        #expect(try setup.store.oauthToken(connector: setup.connector)?.refreshToken == "rt-login-1")
        #expect(try setup.store.connector(named: "xero")?.paused == false)
        for secret in [Self.clientSecret, "at-login-1", "rt-login-1"] { #expect(!output.contains(secret)) }
    }

    @Test("login: a redirect with another state is refused (400) and stores nothing; access_denied is reported; a refused code exchange stores nothing")
    func refusals() async throws {
        let provider = try await Provider()
        defer { provider.target.stop() }
        let setup = try Self.setup(provider, pausedByAuth: true)
        defer { setup.directory.remove() }

        // Another state: refused.
        var running = try Self.login(setup, provider)
        var url = try await running.authorizationURL()
        let redirectURI = "http://127.0.0.1:\(setup.port)/callback"
        var (status, _) = try await Self.redirect(redirectURI, [("code", "code-123"), ("state", "forged")])
        #expect(status == 400)
        var (exit, output) = await running.finish()
        #expect(exit == 1 && output.contains("state did not match"), "\(output)")
        #expect(provider.lastExchange.isEmpty)
        #expect(try setup.store.oauthToken(connector: setup.connector)?.accessToken == nil)
        #expect(try setup.store.connector(named: "xero")?.pausedBy == .auth)

        // The user said no.
        running = try Self.login(setup, provider)
        url = try await running.authorizationURL()
        var state = try #require(url.queryItems?.first { $0.name == "state" }?.value)
        (status, _) = try await Self.redirect(redirectURI, [("error", "access_denied"), ("state", state)])
        (exit, output) = await running.finish()
        #expect(exit == 1 && output.contains("access_denied"), "\(output)")
        #expect(provider.lastExchange.isEmpty)

        // A wrong code: the exchange is refused, nothing stored.
        running = try Self.login(setup, provider)
        url = try await running.authorizationURL()
        state = try #require(url.queryItems?.first { $0.name == "state" }?.value)
        provider.challenge = try #require(url.queryItems?.first { $0.name == "code_challenge" }?.value)
        provider.redirectURI = redirectURI
        (status, _) = try await Self.redirect(redirectURI, [("code", "stolen"), ("state", state)])
        #expect(status == 502)
        (exit, output) = await running.finish()
        #expect(exit == 1 && output.contains("invalid_grant") && !output.contains(Self.clientSecret), "\(output)")
        #expect(try setup.store.oauthToken(connector: setup.connector)?.accessToken == nil)
    }

    @Test("login: a Xero-Tenant-Id the sign-in cannot reach is an error after storing; QuickBooks' realmId is printed; a failed revocation still deletes, and says so")
    func tenantsRealmAndFailedRevoke() async throws {
        let provider = try await Provider(revokeStatus: 503)
        defer { provider.target.stop() }
        let setup = try Self.setup(provider, headers: "\n    headers: {Xero-Tenant-Id: other-tenant}")
        defer { setup.directory.remove() }
        let redirectURI = "http://127.0.0.1:\(setup.port)/callback"

        var running = try Self.login(setup, provider)
        var url = try await running.authorizationURL()
        var state = try #require(url.queryItems?.first { $0.name == "state" }?.value)
        provider.challenge = try #require(url.queryItems?.first { $0.name == "code_challenge" }?.value)
        provider.redirectURI = redirectURI
        _ = try await Self.redirect(redirectURI, [("code", "code-123"), ("state", state), ("realmId", "9130350")])
        var (exit, output) = await running.finish()
        #expect(exit == 1 && output.contains("other-tenant") && output.contains("tenant-1"), "\(output)")
        #expect(output.contains("realmId") && output.contains("9130350"))

        // Signed in again with the right tenant: fine.
        try Self.yaml(provider, redirectPort: setup.port, headers: "\n    headers: {Xero-Tenant-Id: tenant-1}")
            .write(to: setup.config, atomically: true, encoding: .utf8)
        running = try Self.login(setup, provider)
        url = try await running.authorizationURL()
        state = try #require(url.queryItems?.first { $0.name == "state" }?.value)
        provider.challenge = try #require(url.queryItems?.first { $0.name == "code_challenge" }?.value)
        _ = try await Self.redirect(redirectURI, [("code", "code-123"), ("state", state)])
        (exit, output) = await running.finish()
        #expect(exit == 0 && output.contains("as configured"), "\(output)")

        (exit, output) = await (try Running(["auth", "logout", "xero", "--config", setup.config.path, "--db", setup.db],
                                            environment: Self.environment)).finish()
        #expect(exit == 1 && output.contains("revocation failed") && output.contains("503"), "\(output)")
        #expect(provider.revokedTokens == ["rt-login-1"])
        #expect(try setup.store.oauthToken(connector: setup.connector) == nil)
    }
}
