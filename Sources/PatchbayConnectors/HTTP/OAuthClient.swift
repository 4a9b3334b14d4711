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
        let body = fields.map { "\($0.0)=\(Self.formEncoded($0.1))" }.joined(separator: "&")
        return OutboundRequest(method: "POST", url: tokenURL, headers: [
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

/// Gives an HTTP sink the bearer token for its next request. The runtime plays it, with the
/// database and its HTTP client; the sink never sees how tokens are refreshed or kept.
public protocol BearerTokenProvider: Sendable {
    /// A token to send now. `rejected` is the token the target just answered 401 to: the provider
    /// refreshes (once, whoever asks) unless it already holds a newer one.
    func bearerToken(rejected: String?) async throws(OAuthTokenFailure) -> String
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

    public func bearerToken(rejected: String?) async throws(OAuthTokenFailure) -> String {
        guard let provider = provider.withLock({ $0 }) else {
            throw .unavailable("no token service (configuration checked, not running)")
        }
        return try await provider.bearerToken(rejected: rejected)
    }
}
