import Foundation

extension ConnectorModule {
    /// `auth:` on an HTTP-based sink:
    ///
    /// ```yaml
    /// auth:
    ///   type: oauth2
    ///   token_url: https://identity.xero.com/connect/token
    ///   client_id: ${XERO_CLIENT_ID}
    ///   client_secret: ${XERO_CLIENT_SECRET}
    ///   grant: refresh_token            # or client_credentials
    ///   scopes: [accounting.transactions]
    ///   refresh_token: ${XERO_REFRESH_TOKEN}   # refresh_token grant: the first one, stored once
    ///   authorize_url: https://login.xero.com/identity/connect/authorize   # `patchbay auth login`
    ///   revoke_url: https://identity.xero.com/connect/revocation            # `patchbay auth logout`
    ///   redirect_port: 8765                  # login's loopback redirect http://127.0.0.1:PORT/callback
    /// ```
    ///
    /// `authorize_url` and `revoke_url` default by the token URL's host (Xero, Intuit); another
    /// provider needs them for `auth login` and `auth logout`.
    ///
    /// Credentials come from the environment only, and join `secrets` (redacted wherever a target
    /// echoes them). nil without `auth:` or with problems, which are reported on `options`.
    static func readOAuth(_ options: OptionReader, secrets: inout [String]) -> OAuthClient? {
        guard options.has("auth") else { return nil }
        guard let auth = options.child("auth") else { return nil }
        defer { auth.finish() }
        guard auth.oneOf("type", ["oauth2"], required: true) != nil else { return nil }
        let tokenURL = auth.string("token_url", required: true).flatMap { auth.interpolated($0, key: "token_url") }
        if let tokenURL, !Self.isHTTPSOrLoopback(tokenURL) {
            auth.problem("token_url", "expected an https:// URL (http:// on loopback only), like https://identity.xero.com/connect/token")
        }
        var endpoints: [String: String] = [:]
        for (key, example) in [("authorize_url", "https://login.xero.com/identity/connect/authorize"),
                               ("revoke_url", "https://identity.xero.com/connect/revocation")] where auth.has(key) {
            guard let url = auth.string(key).flatMap({ auth.interpolated($0, key: key) }) else { continue }
            if Self.isHTTPSOrLoopback(url) {
                endpoints[key] = url
            } else {
                auth.problem(key, "expected an https:// URL (http:// on loopback only), like \(example)")
            }
        }
        var redirectPort = OAuthClient.defaultRedirectPort
        if auth.has("redirect_port") {
            redirectPort = auth.int("redirect_port", in: 1...65535) ?? redirectPort
        }
        let clientId = auth.secret("client_id", required: true)
        let clientSecret = auth.secret("client_secret", required: true)
        let grant = auth.choice("grant", as: OAuthGrant.self, required: true)
        let scopes = auth.strings("scopes")?.flatMap { $0.split(separator: " ").map(String.init) } ?? []
        var refreshToken: String?
        if auth.has("refresh_token") {
            if grant == .clientCredentials {
                _ = auth.node("refresh_token")
                auth.problem("refresh_token", "client_credentials uses no refresh token: remove it, or use grant: refresh_token")
            } else {
                refreshToken = auth.secret("refresh_token")
            }
        }
        if let clientSecret { secrets.append(clientSecret) }
        if let refreshToken { secrets.append(refreshToken) }
        guard let tokenURL, let clientId, let clientSecret, let grant else { return nil }
        var client = OAuthClient(tokenURL: tokenURL, clientId: clientId, clientSecret: clientSecret, scopes: scopes,
                                 grant: grant, initialRefreshToken: refreshToken)
        client.authorizeURL = endpoints["authorize_url"] ?? OAuthClient.knownEndpoints(tokenURL: tokenURL)?.authorize
        client.revokeURL = endpoints["revoke_url"] ?? OAuthClient.knownEndpoints(tokenURL: tokenURL)?.revoke
        client.redirectPort = redirectPort
        secrets.append(String(client.basicCredentials.dropFirst("Basic ".count)))
        return client
    }

    /// https://, or http:// to a loopback host (a test's or a local provider's).
    static func isHTTPSOrLoopback(_ url: String) -> Bool {
        let parsed = URL(string: url)
        let loopback = ["127.0.0.1", "localhost", "::1", "[::1]"].contains(parsed?.host ?? "")
        return parsed?.host != nil && (parsed?.scheme == "https" || (parsed?.scheme == "http" && loopback))
    }
}
