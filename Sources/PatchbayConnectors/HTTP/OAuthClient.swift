import Crypto
import Foundation
import PatchbayStore
import PatchbayText
import Synchronization

/// The grants `auth: {type: oauth2}` supports.
public enum OAuthGrant: String, Sendable, CaseIterable {
    /// Authorization-code apps (Xero, QuickBooks): a refresh token, rotated on every use, buys
    /// each new access token.
    case refreshToken = "refresh_token"
    /// Machine-to-machine (Xero custom connections): the client's own credentials buy each token.
    case clientCredentials = "client_credentials"
}

/// An HTTP connector's OAuth 2.0 client, as configured (`auth:`): where to get tokens, with which
/// credentials and grant. It builds token requests and reads their answers; it never sends (the
/// runtime does, and keeps the tokens in the database).
public struct OAuthClient: Sendable {
    public var tokenURL: String
    public var clientId: String
    public var clientSecret: String
    public var scopes: [String]
    public var grant: OAuthGrant
    /// `refresh_token: ${...}`: stored once, when the database holds none for the connector.
    public var initialRefreshToken: String?
    /// `authorize_url`: where `patchbay auth login` sends the browser; nil when neither configured
    /// nor known for the token URL's host.
    public var authorizeURL: String?
    /// `revoke_url`: where `patchbay auth logout` revokes the refresh token (RFC 7009).
    public var revokeURL: String?
    /// `redirect_port`: login's loopback redirect, `http://127.0.0.1:PORT/callback` (RFC 8252 §7.3).
    public var redirectPort: Int = OAuthClient.defaultRedirectPort

    public static let defaultRedirectPort = 8765

    public init(tokenURL: String, clientId: String, clientSecret: String, scopes: [String] = [], grant: OAuthGrant,
                initialRefreshToken: String? = nil) {
        self.tokenURL = tokenURL
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.scopes = scopes
        self.grant = grant
        self.initialRefreshToken = initialRefreshToken
    }

    /// `Basic base64(client_id:client_secret)`, as RFC 6749 §2.3.1 (and Xero and Intuit) ask.
    public var basicCredentials: String {
        "Basic " + Data("\(Self.formEncoded(clientId)):\(Self.formEncoded(clientSecret))".utf8).base64EncodedString()
    }

    /// The token request: `grant_type=refresh_token&refresh_token=…`, or
    /// `grant_type=client_credentials&scope=…`, as a form, the client authenticated by Basic.
    public func tokenRequest(refreshToken: String?) -> OutboundRequest {
        var fields: [(String, String)] = [("grant_type", grant.rawValue)]
        switch grant {
        case .refreshToken: fields.append(("refresh_token", refreshToken ?? ""))
        case .clientCredentials: if !scopes.isEmpty { fields.append(("scope", scopes.joined(separator: " "))) }
        }
        return formRequest(url: tokenURL, fields)
    }

    /// The authorization and revocation endpoints of the providers whose token URL is known.
    public static func knownEndpoints(tokenURL: String) -> (authorize: String, revoke: String)? {
        switch URL(string: tokenURL)?.host?.lowercased() {
        case "identity.xero.com":
            ("https://login.xero.com/identity/connect/authorize", "https://identity.xero.com/connect/revocation")
        case "oauth.platform.intuit.com":
            ("https://appcenter.intuit.com/connect/oauth2", "https://developer.api.intuit.com/v2/oauth2/tokens/revoke")
        default: nil
        }
    }

    /// The loopback redirect URI login listens on (RFC 8252 §7.3: an IP literal, not `localhost`).
    public static func redirectURI(port: Int) -> String { "http://127.0.0.1:\(port)/callback" }

    /// `count` random bytes as base64url without padding (RFC 7636 §4.1: 32 bytes make a 43-character verifier).
    public static func randomToken(bytes count: Int = 32) -> String {
        var generator = SystemRandomNumberGenerator()
        return base64URL((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// PKCE S256: base64url(SHA-256(verifier)) (RFC 7636 §4.2).
    public static func codeChallenge(verifier: String) -> String {
        base64URL(Array(SHA256.hash(data: Data(verifier.utf8))))
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The authorization request the browser opens (RFC 6749 §4.1.1 with PKCE); nil without an
    /// authorization endpoint.
    public func authorizationURL(redirectURI: String, state: String, codeChallenge: String) -> String? {
        guard let authorizeURL else { return nil }
        let fields = [("response_type", "code"), ("client_id", clientId), ("redirect_uri", redirectURI),
                      ("scope", scopes.joined(separator: " ")), ("state", state), ("code_challenge", codeChallenge),
                      ("code_challenge_method", "S256")]
        let query = fields.map { "\($0.0)=\(Self.formEncoded($0.1))" }.joined(separator: "&")
        return authorizeURL + (authorizeURL.contains("?") ? "&" : "?") + query
    }

    /// The code exchange (RFC 6749 §4.1.3, RFC 7636 §4.5), the client authenticated by Basic as
    /// for a refresh.
    public func codeExchangeRequest(code: String, redirectURI: String, codeVerifier: String) -> OutboundRequest {
        formRequest(url: tokenURL, [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
                                    ("code_verifier", codeVerifier)])
    }

    /// The revocation of a refresh token (RFC 7009 §2.1), which also ends the access tokens it
    /// bought: a form `token=…` (Xero and most providers), or JSON `{"token": …}` at Intuit's
    /// endpoint, which asks for it. nil without a revocation endpoint.
    public func revokeRequest(token: String) -> OutboundRequest? {
        guard let revokeURL else { return nil }
        if URL(string: revokeURL)?.host?.lowercased().hasSuffix("intuit.com") == true {
            let body = (try? JSONSerialization.data(withJSONObject: ["token": token])) ?? Data()
            return OutboundRequest(method: "POST", url: revokeURL, headers: [
                "Authorization": basicCredentials, "Content-Type": "application/json", "Accept": "application/json",
            ], body: Array(body))
        }
        return formRequest(url: revokeURL, [("token", token), ("token_type_hint", "refresh_token")])
    }

    func formRequest(url: String, _ fields: [(String, String)]) -> OutboundRequest {
        let body = fields.map { "\($0.0)=\(Self.formEncoded($0.1))" }.joined(separator: "&")
        return OutboundRequest(method: "POST", url: url, headers: [
            "Authorization": basicCredentials,
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
        ], body: Array(body.utf8))
    }

    /// What a token endpoint answered.
    public enum Answer: Sendable, Equatable {
        case granted(OAuthTokenGrant)
        /// An OAuth error that no retry fixes (`invalid_grant`, `invalid_client`,
        /// `unauthorized_client`): the connector needs someone to sign in again.
        case refused(String)
        /// Anything else (5xx, 429, a body that is not a token): try again later.
        case failed(String)
    }

    /// Reads a token endpoint's answer (RFC 6749 §5.1 and §5.2). `requestedAt` is when the request
    /// left: `expires_in` counts from the provider's answer, so counting from before it errs early.
    /// Never puts a token value in a message.
    public static func read(status: Int, body: [UInt8], requestedAt: Date) -> Answer {
        let object = (try? JSONSerialization.jsonObject(with: Data(body.prefix(64 * 1024)))) as? [String: Any]
        if (200..<300).contains(status) {
            guard let object, let access = object["access_token"] as? String, !access.isEmpty else {
                return .failed("token endpoint answered HTTP \(status) without an access_token")
            }
            var expiresAt: Int64?
            if let seconds = (object["expires_in"] as? NSNumber)?.doubleValue ?? (object["expires_in"] as? String).flatMap(Double.init),
               seconds > 0 {
                expiresAt = requestedAt.millis + Int64(seconds * 1000)
            }
            let refresh = (object["refresh_token"] as? String).flatMap { $0.isEmpty ? nil : $0 }
            return .granted(OAuthTokenGrant(accessToken: access, accessExpiresAt: expiresAt, refreshToken: refresh,
                                            scope: object["scope"] as? String, tokenType: object["token_type"] as? String))
        }
        let code = object?["error"] as? String
        let description = (object?["error_description"] as? String).map { ": " + String($0.prefix(200)) } ?? ""
        let summary = SafeText.line("token endpoint answered HTTP \(status)" + (code.map { " \($0)" } ?? "") + description)
        if status == 400 || status == 401, let code, ["invalid_grant", "invalid_client", "unauthorized_client"].contains(code) {
            return .refused(summary)
        }
        return .failed(summary)
    }

    /// `application/x-www-form-urlencoded`: everything but unreserved characters percent-encoded.
    static func formEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

extension OAuthClient: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Keeps the client secret and the refresh token out of logs, `print` and `dump`.
    public var description: String { "OAuthClient(\(grant.rawValue), \(tokenURL), secrets redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// Why no token is at hand for a request.
public enum OAuthTokenFailure: Error, Sendable, Equatable {
    /// The token endpoint could not be reached or failed for now: the delivery retries later.
    case unavailable(String)
    /// The credentials were refused for good: the connector is paused until someone signs in again.
    case revoked(String)
}

/// An access token to send, and whether it was just bought for this request.
public struct BearerToken: Sendable, Equatable {
    public var value: String
    /// True when this node refreshed for this request (the one held was expiring, or was refused):
    /// the attempt's history says so.
    public var refreshed: Bool
    /// When it expires, in milliseconds since 1970; nil when the provider did not say.
    public var expiresAt: Int64?

    public init(value: String, refreshed: Bool = false, expiresAt: Int64? = nil) {
        self.value = value
        self.refreshed = refreshed
        self.expiresAt = expiresAt
    }

    /// What the history shows of a refresh made for one send.
    public var refreshNote: String? {
        guard refreshed else { return nil }
        return "OAuth access token refreshed for this send" + (expiresAt.map { ", good until \(Date(millis: $0).iso8601)" } ?? "")
    }
}

extension BearerToken: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Keeps the token out of logs, `print` and `dump`.
    public var description: String { "BearerToken(refreshed: \(refreshed), value redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// Gives an HTTP connector the bearer token for its next request. The runtime plays it, with the
/// database and its HTTP client; the connector never sees how tokens are refreshed or kept.
public protocol BearerTokenProvider: Sendable {
    /// A token to send now. `rejected` is the token the target just answered 401 to: the provider
    /// refreshes (once, whoever asks) unless it already holds a newer one.
    func bearerToken(rejected: String?) async throws(OAuthTokenFailure) -> BearerToken
}

/// Where an OAuth sink, built while the configuration is read, finds its token provider once the
/// runtime has one (`bind`); until then (a file only checked) no token is ever fetched.
public final class OAuthBinding: Sendable {
    public let client: OAuthClient
    private let provider = Mutex<(any BearerTokenProvider)?>(nil)

    public init(client: OAuthClient) { self.client = client }

    /// The longest a request may wait for its token: another node's refresh (10 s) and then its own
    /// token request (15 s), as the runtime's token service bounds them. The delivery lease covers it.
    public static let longestTokenWait: TimeInterval = 25

    public func bind(_ provider: any BearerTokenProvider) { self.provider.withLock { $0 = provider } }

    public func bearerToken(rejected: String?) async throws(OAuthTokenFailure) -> BearerToken {
        guard let provider = provider.withLock({ $0 }) else {
            throw .unavailable("no token service (configuration checked, not running)")
        }
        return try await provider.bearerToken(rejected: rejected)
    }
}
