import Foundation
import GRDB

extension Store: TokenVault {
    static let tokenColumns = """
        connector_id, access_token, access_expires_at, refresh_token, scope, token_type, version, refreshing_owner, \
        refreshing_until, updated_at, last_error
        """

    static func decodeToken(_ row: Row) -> OAuthTokenRecord {
        OAuthTokenRecord(connector: row["connector_id"], accessToken: row["access_token"],
                         accessExpiresAt: row["access_expires_at"], refreshToken: row["refresh_token"],
                         scope: row["scope"], tokenType: row["token_type"], version: row["version"],
                         refreshingOwner: row["refreshing_owner"], refreshingUntil: row["refreshing_until"],
                         updatedAt: row["updated_at"], lastError: row["last_error"])
    }

    static func token(_ db: Database, connector: ConnectorID) throws -> OAuthTokenRecord? {
        try Row.fetchOne(db, sql: "SELECT \(tokenColumns) FROM oauth_tokens WHERE connector_id = ?",
                         arguments: [connector]).map(decodeToken)
    }

    public func oauthToken(connector: ConnectorID) throws -> OAuthTokenRecord? {
        try read { db in try Self.token(db, connector: connector) }
    }

    public func oauthTokens() throws -> [OAuthTokenRecord] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.tokenColumns) FROM oauth_tokens ORDER BY connector_id").map(Self.decodeToken)
        }
    }

    public func seedRefreshToken(connector: ConnectorID, refreshToken: String, now: Date) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                INSERT INTO oauth_tokens(connector_id, refresh_token, updated_at) VALUES (?, ?, ?)
                ON CONFLICT(connector_id) DO UPDATE SET refresh_token = excluded.refresh_token,
                  version = version + 1, updated_at = excluded.updated_at
                WHERE refresh_token IS NULL
                """, arguments: [connector, refreshToken, now.millis])
            return db.changesCount > 0
        }
    }

    public func acquireRefreshLease(connector: ConnectorID, owner: String, until: Date, now: Date) throws -> OAuthLease {
        try write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO oauth_tokens(connector_id, updated_at) VALUES (?, ?)",
                           arguments: [connector, now.millis])
            try db.execute(sql: """
                UPDATE oauth_tokens SET refreshing_owner = ?, refreshing_until = ?
                WHERE connector_id = ? AND (refreshing_owner IS NULL OR refreshing_owner = ? OR refreshing_until <= ?)
                """, arguments: [owner, until.millis, connector, owner, now.millis])
            let taken = db.changesCount > 0
            guard let record = try Self.token(db, connector: connector) else { throw StoreError.unknownConnector("\(connector)") }
            return taken ? .acquired(record) : .held(record)
        }
    }

    public func commitRefresh(connector: ConnectorID, version: Int64, owner: String, grant: OAuthTokenGrant, now: Date) throws
        -> Bool
    {
        try write { db in
            try db.execute(sql: """
                UPDATE oauth_tokens SET access_token = ?, access_expires_at = ?,
                  refresh_token = COALESCE(?, refresh_token), scope = COALESCE(?, scope),
                  token_type = COALESCE(?, token_type), version = version + 1, refreshing_owner = NULL,
                  refreshing_until = NULL, updated_at = ?, last_error = NULL
                WHERE connector_id = ? AND version = ? AND refreshing_owner = ?
                """, arguments: [grant.accessToken, grant.accessExpiresAt, grant.refreshToken, grant.scope, grant.tokenType,
                                 now.millis, connector, version, owner])
            return db.changesCount > 0
        }
    }

    public func releaseRefreshLease(connector: ConnectorID, owner: String, error: String?, now: Date) throws {
        try write { db in
            try db.execute(sql: """
                UPDATE oauth_tokens SET refreshing_owner = NULL, refreshing_until = NULL,
                  last_error = COALESCE(?, last_error), updated_at = ?
                WHERE connector_id = ? AND refreshing_owner = ?
                """, arguments: [error, now.millis, connector, owner])
        }
    }

    public func pauseForAuth(connector: ConnectorID, reason: String, now: Date) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                UPDATE oauth_tokens SET access_token = NULL, access_expires_at = NULL, refresh_token = NULL,
                  version = version + 1, refreshing_owner = NULL, refreshing_until = NULL, updated_at = ?,
                  last_error = CASE WHEN refresh_token IS NULL AND last_error IS NOT NULL THEN last_error ELSE ? END
                WHERE connector_id = ?
                """, arguments: [now.millis, reason, connector])
            try db.execute(sql: """
                UPDATE connectors SET paused = 1, paused_by = 'auth', paused_reason = ?
                WHERE id = ? AND paused = 0
                """, arguments: [reason, connector])
            return db.changesCount > 0
        }
    }

    public func storeSignIn(connector: ConnectorID, grant: OAuthTokenGrant, now: Date) throws -> Bool {
        try write { db in
            try db.execute(sql: """
                INSERT INTO oauth_tokens(connector_id, access_token, access_expires_at, refresh_token, scope, token_type,
                  updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(connector_id) DO UPDATE SET access_token = excluded.access_token,
                  access_expires_at = excluded.access_expires_at, refresh_token = excluded.refresh_token,
                  scope = excluded.scope, token_type = excluded.token_type, version = version + 1,
                  refreshing_owner = NULL, refreshing_until = NULL, updated_at = excluded.updated_at, last_error = NULL
                """, arguments: [connector, grant.accessToken, grant.accessExpiresAt, grant.refreshToken, grant.scope,
                                 grant.tokenType, now.millis])
            try db.execute(sql: """
                UPDATE connectors SET paused = 0, paused_by = NULL, paused_reason = NULL
                WHERE id = ? AND paused = 1 AND paused_by = 'auth'
                """, arguments: [connector])
            return db.changesCount > 0
        }
    }

    public func deleteTokens(connector: ConnectorID) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM oauth_tokens WHERE connector_id = ?", arguments: [connector])
            return db.changesCount > 0
        }
    }
}
