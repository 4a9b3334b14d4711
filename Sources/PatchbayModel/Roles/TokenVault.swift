import Foundation

/// One connector's OAuth 2.0 tokens as the database holds them (`oauth_tokens`, SQLite migration v9,
/// PostgreSQL v3).
///
/// `version` grows by one with every committed refresh: a node writes new tokens only over the
/// version it refreshed from. `refreshingOwner`/`refreshingUntil` are the refresh lease: while it
/// holds, other nodes wait for its tokens instead of refreshing themselves.
public struct OAuthTokenRecord: Sendable, Equatable {
    public var connector: ConnectorID
    public var accessToken: String?
    /// Milliseconds since 1970; nil when unknown (no access token yet).
    public var accessExpiresAt: Int64?
    public var refreshToken: String?
    public var scope: String?
    public var tokenType: String?
    public var version: Int64
    public var refreshingOwner: String?
    public var refreshingUntil: Int64?
    public var updatedAt: Int64
    /// Why the last refresh failed (never a token value); nil after a refresh that succeeded.
    public var lastError: String?

    public init(connector: ConnectorID, accessToken: String? = nil, accessExpiresAt: Int64? = nil,
                refreshToken: String? = nil, scope: String? = nil, tokenType: String? = nil, version: Int64 = 0,
                refreshingOwner: String? = nil, refreshingUntil: Int64? = nil, updatedAt: Int64, lastError: String? = nil) {
        self.connector = connector
        self.accessToken = accessToken
        self.accessExpiresAt = accessExpiresAt
        self.refreshToken = refreshToken
        self.scope = scope
        self.tokenType = tokenType
        self.version = version
        self.refreshingOwner = refreshingOwner
        self.refreshingUntil = refreshingUntil
        self.updatedAt = updatedAt
        self.lastError = lastError
    }
}

/// What a token endpoint answered, to be committed.
public struct OAuthTokenGrant: Sendable, Equatable {
    public var accessToken: String
    public var accessExpiresAt: Int64?
    /// The rotated refresh token; nil keeps the one held (a provider that does not rotate, or
    /// `client_credentials`, which has none).
    public var refreshToken: String?
    public var scope: String?
    public var tokenType: String?

    public init(accessToken: String, accessExpiresAt: Int64?, refreshToken: String?, scope: String? = nil,
                tokenType: String? = nil) {
        self.accessToken = accessToken
        self.accessExpiresAt = accessExpiresAt
        self.refreshToken = refreshToken
        self.scope = scope
        self.tokenType = tokenType
    }
}

/// The result of asking for the refresh lease.
public enum OAuthLease: Sendable, Equatable {
    /// This owner holds the lease until the time asked for; refresh from this record.
    case acquired(OAuthTokenRecord)
    /// Another owner holds it; the record as it stands (wait for its refresh).
    case held(OAuthTokenRecord)
}

/// OAuth tokens of HTTP connectors, held in the database so every hub node shares them and a
/// restart keeps them: read, seed, a refresh lease (one node refreshes at a time), a commit of the
/// rotated tokens that holds only over the version refreshed from, and pausing a connector whose
/// refresh failed for good.
public protocol TokenVault: Sendable {
    func oauthToken(connector: ConnectorID) throws -> OAuthTokenRecord?
    /// Every connector's tokens, for `patchbay auth status`.
    func oauthTokens() throws -> [OAuthTokenRecord]
    /// Stores a first refresh token (from the configuration) when the connector holds none: no row
    /// yet, or its refresh token was dropped as refused. True when it seeded; a stored token,
    /// possibly rotated since, always wins.
    @discardableResult
    func seedRefreshToken(connector: ConnectorID, refreshToken: String, now: Date) throws -> Bool
    /// Takes the refresh lease until `until` unless another owner holds an unexpired one (a row is
    /// created when there is none).
    func acquireRefreshLease(connector: ConnectorID, owner: String, until: Date, now: Date) throws -> OAuthLease
    /// Commits a refresh in one transaction: new tokens, `version + 1`, the lease released, the
    /// error cleared; only while the row is still at `version` and the lease is this owner's.
    /// False (nothing written) otherwise.
    func commitRefresh(connector: ConnectorID, version: Int64, owner: String, grant: OAuthTokenGrant, now: Date) throws
        -> Bool
    /// Releases this owner's lease after a refresh that failed, noting why (no token values).
    func releaseRefreshLease(connector: ConnectorID, owner: String, error: String?, now: Date) throws
    /// A refresh failed for good (`invalid_grant`): in one transaction, drops the refused tokens
    /// (the next configured refresh token may seed again), releases any lease, notes the reason,
    /// and pauses the connector as `paused_by = 'auth'` unless it is already paused. True when it
    /// paused now. A second call after the tokens were dropped (another request finding no refresh
    /// token) keeps the first reason: the cause stays what the provider said.
    @discardableResult
    func pauseForAuth(connector: ConnectorID, reason: String, now: Date) throws -> Bool
    /// Someone signed in (`patchbay auth login`): in one transaction, replaces the connector's tokens
    /// with the grant's (a row is created when there is none; a grant without a refresh token drops
    /// the one held), `version + 1`, releases any lease, clears the last error, and resumes the
    /// connector if a refused refresh paused it (`paused_by = 'auth'`; any other pause stays).
    /// True when it resumed the connector.
    @discardableResult
    func storeSignIn(connector: ConnectorID, grant: OAuthTokenGrant, now: Date) throws -> Bool
    /// `patchbay auth logout`: deletes the connector's tokens. True when it held some.
    @discardableResult
    func deleteTokens(connector: ConnectorID) throws -> Bool
}
