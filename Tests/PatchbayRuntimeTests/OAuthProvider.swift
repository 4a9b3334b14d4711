import Foundation
import PatchbayRuntime

/// A loopback OAuth 2.0 provider and API, shaped from Xero's and Intuit's public documentation:
/// the token endpoint takes the client by HTTP Basic and a form body (`grant_type=refresh_token`
/// or `client_credentials`), answers `access_token`, `expires_in`, `token_type`, `refresh_token`;
/// refresh tokens rotate on every use and the previous one stays valid for a grace period; an
/// unknown, expired or revoked refresh token is `400 {"error":"invalid_grant"}`; the API answers
/// 401 to a missing or expired access token.
///
/// It also judges the client: a refresh token presented again after a token of its successor was
/// used (so the successor had been committed) is a reuse; a request with an expired or unknown
/// access token is counted.
final class OAuthProvider: @unchecked Sendable {
    let clientId = "client-id-1"
    let clientSecret = "client-secret-do-not-leak"
    let accessLifetime: TimeInterval
    let grace: TimeInterval
    private let lock = NSLock()
    private var issued = 0
    private var access: [String: Date] = [:]
    private var currentRefresh: String?
    private var graceUntil: [String: Date] = [:]
    /// Every pair issued in exchange for a refresh token, by that token.
    private var successors: [String: [(access: String, refresh: String)]] = [:]
    private var used: Set<String> = []
    private(set) var reuses: [String] = []
    private(set) var refreshes = 0
    private(set) var refreshTokensPresented: [String] = []
    private(set) var apiCalls = 0
    private(set) var unauthorized = 0
    private(set) var delivered = 0
    private(set) var revoked = false
    /// The next n API requests answer 401 whatever their token (a token revoked early).
    private var forced401 = 0

    init(accessLifetime: TimeInterval = 2, grace: TimeInterval = 10) {
        self.accessLifetime = accessLifetime
        self.grace = grace
    }

    /// The first refresh token, as an app that signed in holds it.
    func signIn() -> String {
        lock.withLock {
            issued += 1
            let token = "rt-\(issued)"
            currentRefresh = token
            return token
        }
    }

    func revokeAll() { lock.withLock { revoked = true } }
    func force401(_ n: Int) { lock.withLock { forced401 = n } }
    var snapshot: (refreshes: Int, api: Int, unauthorized: Int, delivered: Int, reuses: [String]) {
        lock.withLock { (refreshes, apiCalls, unauthorized, delivered, reuses) }
    }
    var presented: [String] { lock.withLock { refreshTokensPresented } }

    func token(_ request: Received) -> Reply {
        let expected = "Basic " + Data("\(clientId):\(clientSecret)".utf8).base64EncodedString()
        guard header(request, "authorization") == expected else {
            return Reply(status: 401, body: #"{"error":"invalid_client"}"#)
        }
        let form = Dictionary(String(decoding: request.body, as: UTF8.self).split(separator: "&").compactMap { pair -> (String, String)? in
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? String($0) }
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }, uniquingKeysWith: { _, last in last })
        let now = Date()
        return lock.withLock {
            switch form["grant_type"] {
            case "refresh_token":
                guard let presented = form["refresh_token"] else { return Reply(status: 400, body: #"{"error":"invalid_request"}"#) }
                refreshTokensPresented.append(presented)
                let valid = !revoked && (presented == currentRefresh || (graceUntil[presented] ?? .distantPast) > now)
                guard valid else { return Reply(status: 400, body: #"{"error":"invalid_grant"}"#) }
                if let earlier = successors[presented], earlier.contains(where: { used.contains($0.access) || used.contains($0.refresh) }) {
                    reuses.append(presented)
                }
                used.insert(presented)
                if let current = currentRefresh { graceUntil[current] = now.addingTimeInterval(grace) }
                let pair = issue(now)
                successors[presented, default: []].append(pair)
                currentRefresh = pair.refresh
                refreshes += 1
                return Reply(status: 200, body: """
                    {"id_token":"x","access_token":"\(pair.access)","expires_in":\(Int(accessLifetime)),"token_type":"Bearer",\
                    "refresh_token":"\(pair.refresh)","scope":"accounting.transactions offline_access"}
                    """)
            case "client_credentials":
                let pair = issue(now)
                refreshes += 1
                return Reply(status: 200, body: """
                    {"access_token":"\(pair.access)","expires_in":\(Int(accessLifetime)),"token_type":"Bearer","scope":"\(form["scope"] ?? "")"}
                    """)
            default:
                return Reply(status: 400, body: #"{"error":"unsupported_grant_type"}"#)
            }
        }
    }

    private func issue(_ now: Date) -> (access: String, refresh: String) {
        issued += 1
        let pair = ("at-\(issued)-\(UUID().uuidString)", "rt-\(issued)")
        access[pair.0] = now.addingTimeInterval(accessLifetime)
        return pair
    }

    /// Judges an API request of another mock (a pull's Xero or QuickBooks) by its `Authorization`
    /// header, as `api` does: true when the token is one this provider issued and it has not
    /// expired (counted as used), false otherwise (counted as unauthorized).
    func accepts(authorization: String?) -> Bool {
        let request = Received(path: "", headers: authorization.map { ["authorization": $0] } ?? [:], body: [], at: Date())
        return api(request).status == 200
    }

    func api(_ request: Received) -> Reply {
        let bearer = header(request, "authorization").flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        let now = Date()
        return lock.withLock {
            apiCalls += 1
            if forced401 > 0 {
                // Revoked early; this API echoes the token it refused (so must never be stored).
                forced401 -= 1
                unauthorized += 1
                return Reply(status: 401, body: """
                    {"Type":null,"Title":"Unauthorized","Status":401,"Detail":"token \(bearer ?? "") was revoked"}
                    """)
            }
            guard let bearer, let expiry = access[bearer], expiry > now else {
                unauthorized += 1
                return Self.unauthorizedReply
            }
            used.insert(bearer)
            delivered += 1
            return Reply(status: 200, body: #"{"Status":"OK"}"#)
        }
    }

    /// Xero's answer to an expired token.
    static let unauthorizedReply = Reply(status: 401, headers: ["WWW-Authenticate": #"Bearer error="invalid_token""#], body: """
        {"Type":null,"Title":"Unauthorized","Status":401,"Detail":"TokenExpired: token expired"}
        """)

    private func header(_ request: Received, _ name: String) -> String? {
        request.headers.first { $0.key.lowercased() == name }?.value
    }
}
