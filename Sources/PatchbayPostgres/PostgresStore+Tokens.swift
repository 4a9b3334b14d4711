import Foundation
import PatchbayModel
import PostgresNIO

extension PostgresStore: TokenVault {
    static let tokenColumns = """
        connector_id, access_token, access_expires_at, refresh_token, scope, token_type, version, refreshing_owner, \
        refreshing_until, updated_at, last_error
        """

    static func decodeToken(_ row: PostgresRow) throws -> OAuthTokenRecord {
        let (connector, access, expires, refresh, scope, type, version, owner, until, updated, error) =
            try row.decode((Int64, String?, Int64?, String?, String?, String?, Int64, String?, Int64?, Int64, String?).self)
        return OAuthTokenRecord(connector: connector, accessToken: access, accessExpiresAt: expires, refreshToken: refresh,
                                scope: scope, tokenType: type, version: version, refreshingOwner: owner,
                                refreshingUntil: until, updatedAt: updated, lastError: error)
    }

    static func token(_ session: Session, connector: ConnectorID, lock: Bool = false) throws -> OAuthTokenRecord? {
        var binds = PostgresBindings(capacity: 1)
        binds.append(connector)
        return try session.rows(PostgresQuery(unsafeSQL: """
            SELECT \(tokenColumns) FROM oauth_tokens WHERE connector_id = $1\(lock ? " FOR UPDATE" : "")
            """, binds: binds)).first.map(decodeToken)
    }

    public func oauthToken(connector: ConnectorID) throws -> OAuthTokenRecord? {
        try read { session in try Self.token(session, connector: connector) }
    }

    public func oauthTokens() throws -> [OAuthTokenRecord] {
        try read { session in
            try session.rows(PostgresQuery(unsafeSQL: "SELECT \(Self.tokenColumns) FROM oauth_tokens ORDER BY connector_id"))
                .map(Self.decodeToken)
        }
    }

    public func seedRefreshToken(connector: ConnectorID, refreshToken: String, now: Date) throws -> Bool {
        try write { session in
            try session.rows("""
                INSERT INTO oauth_tokens(connector_id, refresh_token, updated_at) VALUES (\(connector), \(refreshToken), \(now.millis))
                ON CONFLICT (connector_id) DO UPDATE SET refresh_token = excluded.refresh_token,
                  version = oauth_tokens.version + 1, updated_at = excluded.updated_at
                WHERE oauth_tokens.refresh_token IS NULL
                RETURNING connector_id
                """).first != nil
        }
    }

    public func acquireRefreshLease(connector: ConnectorID, owner: String, until: Date, now: Date) throws -> OAuthLease {
        try write { session in
            try session.run("""
                INSERT INTO oauth_tokens(connector_id, updated_at) VALUES (\(connector), \(now.millis))
                ON CONFLICT (connector_id) DO NOTHING
                """)
            let taken = try session.rows("""
                UPDATE oauth_tokens SET refreshing_owner = \(owner), refreshing_until = \(until.millis)
                WHERE connector_id = \(connector)
                  AND (refreshing_owner IS NULL OR refreshing_owner = \(owner) OR refreshing_until <= \(now.millis))
                RETURNING connector_id
                """).first != nil
            guard let record = try Self.token(session, connector: connector) else {
                throw StoreError.unknownConnector("\(connector)")
            }
            return taken ? .acquired(record) : .held(record)
        }
    }

    public func commitRefresh(connector: ConnectorID, version: Int64, owner: String, grant: OAuthTokenGrant, now: Date) throws
        -> Bool
    {
        try write { session in
            try session.rows("""
                UPDATE oauth_tokens SET access_token = \(grant.accessToken), access_expires_at = \(grant.accessExpiresAt),
                  refresh_token = COALESCE(\(grant.refreshToken), refresh_token), scope = COALESCE(\(grant.scope), scope),
                  token_type = COALESCE(\(grant.tokenType), token_type), version = version + 1, refreshing_owner = NULL,
                  refreshing_until = NULL, updated_at = \(now.millis), last_error = NULL
                WHERE connector_id = \(connector) AND version = \(version) AND refreshing_owner = \(owner)
                RETURNING connector_id
                """).first != nil
        }
    }

    public func releaseRefreshLease(connector: ConnectorID, owner: String, error: String?, now: Date) throws {
        try write { session in
            try session.run("""
                UPDATE oauth_tokens SET refreshing_owner = NULL, refreshing_until = NULL,
                  last_error = COALESCE(\(error), last_error), updated_at = \(now.millis)
                WHERE connector_id = \(connector) AND refreshing_owner = \(owner)
                """)
        }
    }

    public func pauseForAuth(connector: ConnectorID, reason: String, now: Date) throws -> Bool {
        try write { session in
            try session.run("""
                UPDATE oauth_tokens SET access_token = NULL, access_expires_at = NULL, refresh_token = NULL,
                  version = version + 1, refreshing_owner = NULL, refreshing_until = NULL, updated_at = \(now.millis),
                  last_error = CASE WHEN refresh_token IS NULL AND last_error IS NOT NULL THEN last_error ELSE \(reason) END
                WHERE connector_id = \(connector)
                """)
            let paused = try session.rows("""
                UPDATE connectors SET paused = true, paused_by = 'auth', paused_reason = \(reason)
                WHERE id = \(connector) AND NOT paused RETURNING id
                """).first != nil
            if paused { try PostgresChanges.notifyWrite(session) }
            return paused
        }
    }

    public func storeSignIn(connector: ConnectorID, grant: OAuthTokenGrant, now: Date) throws -> Bool {
        try write { session in
            try session.run("""
                INSERT INTO oauth_tokens(connector_id, access_token, access_expires_at, refresh_token, scope, token_type,
                  updated_at) VALUES (\(connector), \(grant.accessToken), \(grant.accessExpiresAt), \(grant.refreshToken),
                  \(grant.scope), \(grant.tokenType), \(now.millis))
                ON CONFLICT(connector_id) DO UPDATE SET access_token = excluded.access_token,
                  access_expires_at = excluded.access_expires_at, refresh_token = excluded.refresh_token,
                  scope = excluded.scope, token_type = excluded.token_type, version = oauth_tokens.version + 1,
                  refreshing_owner = NULL, refreshing_until = NULL, updated_at = excluded.updated_at, last_error = NULL
                """)
            let resumed = try session.rows("""
                UPDATE connectors SET paused = false, paused_by = NULL, paused_reason = NULL
                WHERE id = \(connector) AND paused AND paused_by = 'auth' RETURNING id
                """).first != nil
            // Resumed, its queue is due again: every node's worker for it wakes.
            if resumed { try PostgresChanges.notify(session, due: [connector]) }
            return resumed
        }
    }

    public func deleteTokens(connector: ConnectorID) throws -> Bool {
        try write { session in
            try session.rows("DELETE FROM oauth_tokens WHERE connector_id = \(connector) RETURNING connector_id").first != nil
        }
    }
}
