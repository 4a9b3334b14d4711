import Foundation
import PatchbayHub
import Testing
@testable import PatchbayConnectors

/// `auth: {type: oauth2}` on HTTP sinks: what is read, what is refused, what is kept secret.
@Suite("Config: OAuth 2.0 auth")
struct OAuthConfigTests {
    static let env = ["XERO_CLIENT_ID": "client-1", "XERO_CLIENT_SECRET": "s3cret-value", "XERO_REFRESH_TOKEN": "refresh-abc"]

    static func yaml(_ auth: String, module: String = "xero", headers: String = "") -> String {
        """
        connectors:
          shop: {module: webhook, signature: shopify, secret: "${XERO_CLIENT_SECRET}", transform: shopify-order}
          xero:
            module: \(module)
            url: https://api.xero.com/api.xro/2.0/Invoices
            from: [shop]\(headers)
            auth: \(auth)
        """
    }

    static let good = """
        {type: oauth2, token_url: "https://identity.xero.com/connect/token", client_id: "${XERO_CLIENT_ID}",
               client_secret: "${XERO_CLIENT_SECRET}", grant: refresh_token, scopes: [accounting.transactions, offline_access],
               refresh_token: "${XERO_REFRESH_TOKEN}"}
        """

    static func parse(_ yaml: String, env: [String: String] = env) throws(ConfigError) -> HubConfig {
        try HubConfig.parse(yaml: yaml, file: "patchbay.yaml",
                            context: ModuleContext(environment: env, baseDirectory: URL(fileURLWithPath: "/etc/patchbay"), transport: nil))
    }

    static func problems(_ yaml: String, env: [String: String] = env, sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigProblem] {
        do {
            _ = try parse(yaml, env: env)
            Issue.record("the configuration was accepted", sourceLocation: sourceLocation)
            return []
        } catch {
            return error.problems
        }
    }

    static func sink(_ config: HubConfig) throws -> HTTPSink {
        guard case .sink(let sink)? = config.connectors.first(where: { $0.name == "xero" })?.built, let http = sink as? HTTPSink else {
            throw ConfigError(file: "patchbay.yaml", problems: [])
        }
        return http
    }

    @Test("with oauth2 a sink's deliveries are leased long enough to wait for a token and send twice; without, the configured lease")
    func leaseCoversTheTokenWait() throws {
        let config = try Self.parse(Self.yaml(Self.good))
        let xero = try #require(config.connector(named: "xero"))
        // Xero's default timeout is 30 s: two sends, 25 s for a token, 1 s spare.
        #expect(xero.minimumLease == 86)
        #expect(config.lease == 60)
        #expect(try #require(config.connector(named: "shop")).minimumLease == 0)
        let plain = try Self.parse("""
            connectors:
              shop: {module: webhook, signature: shopify, secret: "${XERO_CLIENT_SECRET}"}
              erp: {module: http, url: "https://erp.example/x", from: [shop], timeout: 20s}
            """)
        #expect(try #require(plain.connector(named: "erp")).minimumLease == 0)
    }

    @Test("a Xero sink with oauth2 reads its client, grant, scopes and first refresh token; every credential is a secret",
          arguments: ["xero", "http"])
    func reads(module: String) throws {
        let sink = try Self.sink(Self.parse(Self.yaml(Self.good, module: module)))
        let client = try #require(sink.oauth?.client)
        #expect(client.tokenURL == "https://identity.xero.com/connect/token" && client.grant == .refreshToken)
        #expect(client.clientId == "client-1" && client.clientSecret == "s3cret-value")
        #expect(client.scopes == ["accounting.transactions", "offline_access"] && client.initialRefreshToken == "refresh-abc")
        #expect(sink.secrets.contains("s3cret-value") && sink.secrets.contains("refresh-abc"))
        #expect(sink.secrets.contains(String(client.basicCredentials.dropFirst("Basic ".count))))
        #expect(!"\(client)".contains("s3cret") && !String(reflecting: client).contains("refresh-abc"))
        #expect(sink.headers["Authorization"] == nil)
    }

    @Test("the token request: HTTP Basic client credentials and a form body, as Xero and Intuit document")
    func tokenRequest() {
        let refresh = OAuthClient(tokenURL: "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer", clientId: "id:1",
                                  clientSecret: "p&ss", grant: .refreshToken)
        let request = refresh.tokenRequest(refreshToken: "AB11+/=")
        #expect(request.method == "POST" && request.url == "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer")
        #expect(request.headers["Authorization"] == "Basic " + Data("id%3A1:p%26ss".utf8).base64EncodedString())
        #expect(request.headers["Content-Type"] == "application/x-www-form-urlencoded")
        #expect(String(decoding: request.body, as: UTF8.self) == "grant_type=refresh_token&refresh_token=AB11%2B%2F%3D")
        let machine = OAuthClient(tokenURL: "https://identity.xero.com/connect/token", clientId: "a", clientSecret: "b",
                                  scopes: ["accounting.transactions", "accounting.contacts.read"], grant: .clientCredentials)
        #expect(String(decoding: machine.tokenRequest(refreshToken: nil).body, as: UTF8.self)
                == "grant_type=client_credentials&scope=accounting.transactions%20accounting.contacts.read")
    }

    @Test("token answers: granted with expiry from the request time, invalid_grant refused for good, 5xx and odd bodies retry")
    func answers() {
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let ok = OAuthClient.read(status: 200, body: Array(#"{"access_token":"A","expires_in":1800,"token_type":"Bearer","refresh_token":"R","scope":"s"}"#.utf8),
                                  requestedAt: at)
        #expect(ok == .granted(.init(accessToken: "A", accessExpiresAt: at.millis + 1_800_000, refreshToken: "R", scope: "s", tokenType: "Bearer")))
        #expect(OAuthClient.read(status: 400, body: Array(#"{"error":"invalid_grant"}"#.utf8), requestedAt: at)
                == .refused("token endpoint answered HTTP 400 invalid_grant"))
        #expect(OAuthClient.read(status: 401, body: Array(#"{"error":"invalid_client","error_description":"bad secret"}"#.utf8), requestedAt: at)
                == .refused("token endpoint answered HTTP 401 invalid_client: bad secret"))
        #expect(OAuthClient.read(status: 503, body: Array("<html>down</html>".utf8), requestedAt: at) == .failed("token endpoint answered HTTP 503"))
        #expect(OAuthClient.read(status: 200, body: Array("{}".utf8), requestedAt: at)
                == .failed("token endpoint answered HTTP 200 without an access_token"))
    }

    @Test("auth problems: an unknown type, missing or inline credentials, a plain-http token URL, a refresh token with client_credentials, an unknown key, a static Authorization header")
    func problems() {
        var found = Self.problems(Self.yaml("{type: basic}"))
        #expect(found.contains { $0.path == "connectors.xero.auth.type" && $0.message.contains("oauth2") }, "\(found)")

        found = Self.problems(Self.yaml("{type: oauth2, token_url: \"https://identity.xero.com/connect/token\", grant: refresh_token, client_id: abc}"))
        #expect(found.contains { $0.path == "connectors.xero.auth.client_id" && $0.message.contains("environment variable") }, "\(found)")
        #expect(found.contains { $0.path == "connectors.xero.auth" && $0.message.contains("client_secret") }, "\(found)")

        found = Self.problems(Self.yaml("""
            {type: oauth2, token_url: "http://identity.example.com/token", client_id: "${XERO_CLIENT_ID}", \
            client_secret: "${XERO_CLIENT_SECRET}", grant: password}
            """))
        #expect(found.contains { $0.path == "connectors.xero.auth.token_url" && $0.message.contains("https://") }, "\(found)")
        #expect(found.contains { $0.path == "connectors.xero.auth.grant" }, "\(found)")

        found = Self.problems(Self.yaml("""
            {type: oauth2, token_url: "https://identity.xero.com/connect/token", client_id: "${XERO_CLIENT_ID}", \
            client_secret: "${XERO_CLIENT_SECRET}", grant: client_credentials, refresh_token: "${XERO_REFRESH_TOKEN}", scope: x}
            """))
        #expect(found.contains { $0.path == "connectors.xero.auth.refresh_token" && $0.message.contains("client_credentials") }, "\(found)")
        #expect(found.contains { $0.path == "connectors.xero.auth.scope" && $0.message.contains("scopes") }, "\(found)")

        found = Self.problems(Self.yaml(Self.good, headers: "\n    headers: {Authorization: \"Bearer ${XERO_CLIENT_SECRET}\"}"))
        #expect(found.contains { $0.path == "connectors.xero.headers" && $0.message.contains("conflicts with auth") }, "\(found)")

        found = Self.problems(Self.yaml(Self.good), env: ["XERO_CLIENT_ID": "client-1", "XERO_CLIENT_SECRET": "s3cret-value"])
        #expect(found.contains { $0.path == "connectors.xero.auth.refresh_token" && $0.message.contains("XERO_REFRESH_TOKEN is not set") }, "\(found)")
        for problem in found { #expect(!problem.message.contains("s3cret-value")) }
    }

    @Test("login endpoints: Xero's and Intuit's authorize and revoke URLs by the token URL's host, configured ones win, redirect_port 8765 by default")
    func loginEndpoints() throws {
        let xero = try #require(try Self.sink(Self.parse(Self.yaml(Self.good))).oauth?.client)
        #expect(xero.authorizeURL == "https://login.xero.com/identity/connect/authorize")
        #expect(xero.revokeURL == "https://identity.xero.com/connect/revocation" && xero.redirectPort == 8765)
        let intuit = try #require(try Self.sink(Self.parse(Self.yaml("""
            {type: oauth2, token_url: "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer", client_id: "${XERO_CLIENT_ID}", \
            client_secret: "${XERO_CLIENT_SECRET}", grant: refresh_token, scopes: [com.intuit.quickbooks.accounting]}
            """, module: "http"))).oauth?.client)
        #expect(intuit.authorizeURL == "https://appcenter.intuit.com/connect/oauth2")
        #expect(intuit.revokeURL == "https://developer.api.intuit.com/v2/oauth2/tokens/revoke")
        let other = try #require(try Self.sink(Self.parse(Self.yaml("""
            {type: oauth2, token_url: "https://auth.example.com/token", client_id: "${XERO_CLIENT_ID}", \
            client_secret: "${XERO_CLIENT_SECRET}", grant: refresh_token, authorize_url: "https://auth.example.com/authorize", \
            redirect_port: 9000}
            """, module: "http"))).oauth?.client)
        #expect(other.authorizeURL == "https://auth.example.com/authorize" && other.revokeURL == nil && other.redirectPort == 9000)

        let found = Self.problems(Self.yaml("""
            {type: oauth2, token_url: "https://auth.example.com/token", client_id: "${XERO_CLIENT_ID}", \
            client_secret: "${XERO_CLIENT_SECRET}", grant: refresh_token, authorize_url: "http://auth.example.com/authorize", \
            revoke_url: "ftp://x", redirect_port: 70000}
            """, module: "http"))
        #expect(found.contains { $0.path == "connectors.xero.auth.authorize_url" && $0.message.contains("https://") }, "\(found)")
        #expect(found.contains { $0.path == "connectors.xero.auth.revoke_url" && $0.message.contains("https://") }, "\(found)")
        #expect(found.contains { $0.path == "connectors.xero.auth.redirect_port" && $0.message.contains("65535") }, "\(found)")
    }

    @Test("PKCE S256 (RFC 7636 appendix B), the authorization URL, the code exchange and the revocation requests")
    func loginRequests() throws {
        #expect(OAuthClient.codeChallenge(verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
                == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        let verifier = OAuthClient.randomToken()
        #expect(verifier.count == 43 && verifier.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(verifier != OAuthClient.randomToken())

        var client = OAuthClient(tokenURL: "https://identity.xero.com/connect/token", clientId: "id-1", clientSecret: "sec",
                                 scopes: ["accounting.transactions", "offline_access"], grant: .refreshToken)
        #expect(client.authorizationURL(redirectURI: "x", state: "s", codeChallenge: "c") == nil)
        client.authorizeURL = "https://login.xero.com/identity/connect/authorize"
        client.revokeURL = "https://identity.xero.com/connect/revocation"
        let text = try #require(client.authorizationURL(redirectURI: OAuthClient.redirectURI(port: 8765), state: "st",
                                                        codeChallenge: "ch"))
        let url = try #require(URLComponents(string: text))
        let query = Dictionary((url.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { a, _ in a })
        #expect(query == ["response_type": "code", "client_id": "id-1", "redirect_uri": "http://127.0.0.1:8765/callback",
                          "scope": "accounting.transactions offline_access", "state": "st", "code_challenge": "ch",
                          "code_challenge_method": "S256"])

        let exchange = client.codeExchangeRequest(code: "c/1", redirectURI: "http://127.0.0.1:8765/callback", codeVerifier: "v")
        #expect(exchange.url == client.tokenURL && exchange.headers["Authorization"] == client.basicCredentials)
        #expect(String(decoding: exchange.body, as: UTF8.self)
                == "grant_type=authorization_code&code=c%2F1&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&code_verifier=v")

        let revoke = try #require(client.revokeRequest(token: "rt+1"))
        #expect(revoke.url == "https://identity.xero.com/connect/revocation" && revoke.headers["Authorization"] == client.basicCredentials)
        #expect(String(decoding: revoke.body, as: UTF8.self) == "token=rt%2B1&token_type_hint=refresh_token")
        client.revokeURL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
        let intuit = try #require(client.revokeRequest(token: "rt+1"))
        #expect(intuit.headers["Content-Type"] == "application/json")
        #expect((try JSONSerialization.jsonObject(with: Data(intuit.body)) as? [String: String]) == ["token": "rt+1"])
    }

    @Test("the API pulls take auth: oauth2 too; an Authorization header beside it is refused, and the client secret is a secret")
    func pullsTakeAuth() throws {
        let pulls = """
            connectors:
              xero-ar:
                module: xero-invoices-pull
                headers: {Xero-Tenant-Id: "tenant-1"}
                schedule: hourly
                auth: \(Self.good)
              qbo-ar:
                module: quickbooks-online
                realm_id: "9130357992225386"
                schedule: daily 02:30
                auth: {type: oauth2, token_url: "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer", client_id: "${XERO_CLIENT_ID}",
                       client_secret: "${XERO_CLIENT_SECRET}", grant: refresh_token, scopes: [com.intuit.quickbooks.accounting]}
            """
        let config = try Self.parse(pulls)
        for name in ["xero-ar", "qbo-ar"] {
            guard case .batch(let job)? = config.connector(named: name)?.built, let connection = job as? any SaaSConnection else {
                Issue.record("\(name) is not a batch job with a SaaS connection")
                continue
            }
            let client = try #require(connection.oauth?.client)
            #expect(client.grant == .refreshToken && client.clientId == "client-1")
            #expect(connection.secrets.contains("s3cret-value"))
        }
        guard case .batch(let xero)? = config.connector(named: "xero-ar")?.built else { return }
        #expect((xero as? any SaaSConnection)?.quota != nil, "Xero's quota headers are read")
        #expect((xero as? any SaaSConnection)?.oauth?.client.initialRefreshToken == "refresh-abc")
        let clash = Self.problems(pulls.replacingOccurrences(of: "headers: {Xero-Tenant-Id: \"tenant-1\"}",
                                                             with: "headers: {Xero-Tenant-Id: \"tenant-1\", Authorization: \"Bearer ${XERO_REFRESH_TOKEN}\"}"))
        #expect(clash.contains { $0.message.contains("conflicts with auth: oauth2") }, "\(clash)")
    }
}
