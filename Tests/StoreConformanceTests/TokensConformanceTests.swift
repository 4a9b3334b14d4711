import Foundation
import PatchbayStore
import Testing

/// OAuth tokens (SQLite migration v9, PostgreSQL v3): the refresh lease, the commit over a version,
/// the seed, and the pause after `invalid_grant`, the same on every backend.
@Suite("Conformance: OAuth tokens")
struct TokensConformanceTests {
    func vault(_ store: any ConformanceStore) throws -> any TokenVault {
        guard let vault = store as? any TokenVault else { throw ConformanceFailure("the backend lacks TokenVault") }
        return vault
    }

    func grant(_ n: Int, expires seconds: Int64 = 100) -> OAuthTokenGrant {
        OAuthTokenGrant(accessToken: "access-\(n)", accessExpiresAt: Harness.at(seconds).millis, refreshToken: "refresh-\(n)",
                        scope: "accounting.transactions", tokenType: "Bearer")
    }

    @Test("a seed stores the first refresh token once; a stored (rotated) token always wins", arguments: Backend.available)
    func seed(backend: Backend) throws {
        let h = try backend.make()
        let vault = try vault(h.store)
        #expect(try vault.oauthToken(connector: h.erp) == nil)
        #expect(try vault.seedRefreshToken(connector: h.erp, refreshToken: "refresh-0", now: Harness.at(1)))
        #expect(try !vault.seedRefreshToken(connector: h.erp, refreshToken: "refresh-from-config", now: Harness.at(2)))
        let record = try #require(try vault.oauthToken(connector: h.erp))
        #expect(record.refreshToken == "refresh-0" && record.accessToken == nil && record.refreshingOwner == nil)
        #expect(try vault.oauthTokens().map(\.connector) == [h.erp])
    }

    @Test("one owner holds the refresh lease; a second is refused while it holds and takes over once it expired",
          arguments: Backend.available)
    func lease(backend: Backend) throws {
        let h = try backend.make()
        let a = try vault(h.store)
        let b = try vault(try h.openAnother())
        try a.seedRefreshToken(connector: h.erp, refreshToken: "refresh-0", now: Harness.at(0))
        guard case .acquired(let record) = try a.acquireRefreshLease(connector: h.erp, owner: "node-a", until: Harness.at(30),
                                                                    now: Harness.at(1)) else {
            Issue.record("node A did not get the lease"); return
        }
        #expect(record.refreshToken == "refresh-0" && record.refreshingOwner == "node-a")
        guard case .held(let seen) = try b.acquireRefreshLease(connector: h.erp, owner: "node-b", until: Harness.at(40),
                                                              now: Harness.at(10)) else {
            Issue.record("node B took a lease node A holds"); return
        }
        #expect(seen.refreshingOwner == "node-a" && seen.refreshingUntil == Harness.at(30).millis)
        // Node A renews its own lease; node B takes over only once it expired.
        #expect(try a.acquireRefreshLease(connector: h.erp, owner: "node-a", until: Harness.at(35), now: Harness.at(20))
                == .acquired(try #require(try a.oauthToken(connector: h.erp))))
        guard case .acquired(let taken) = try b.acquireRefreshLease(connector: h.erp, owner: "node-b", until: Harness.at(70),
                                                                   now: Harness.at(35)) else {
            Issue.record("node B could not take an expired lease"); return
        }
        #expect(taken.refreshingOwner == "node-b")
        // Node A, late, cannot commit over node B's lease.
        #expect(try !a.commitRefresh(connector: h.erp, version: record.version, owner: "node-a", grant: grant(1), now: Harness.at(36)))
        #expect(try a.oauthToken(connector: h.erp)?.refreshToken == "refresh-0")
    }

    @Test("a commit writes the rotated tokens over the version refreshed from, releases the lease, and is refused once stale",
          arguments: Backend.available)
    func commitOverVersion(backend: Backend) throws {
        let h = try backend.make()
        let vault = try vault(h.store)
        try vault.seedRefreshToken(connector: h.erp, refreshToken: "refresh-0", now: Harness.at(0))
        guard case .acquired(let before) = try vault.acquireRefreshLease(connector: h.erp, owner: "n", until: Harness.at(30),
                                                                        now: Harness.at(1)) else {
            Issue.record("no lease"); return
        }
        #expect(try vault.commitRefresh(connector: h.erp, version: before.version, owner: "n", grant: grant(1), now: Harness.at(2)))
        let after = try #require(try vault.oauthToken(connector: h.erp))
        #expect(after.version == before.version + 1)
        #expect(after.accessToken == "access-1" && after.refreshToken == "refresh-1" && after.accessExpiresAt == Harness.at(100).millis)
        #expect(after.scope == "accounting.transactions" && after.tokenType == "Bearer")
        #expect(after.refreshingOwner == nil && after.refreshingUntil == nil && after.lastError == nil && after.updatedAt == Harness.at(2).millis)
        // The same version again (a replayed or duplicated commit) writes nothing.
        guard case .acquired = try vault.acquireRefreshLease(connector: h.erp, owner: "n", until: Harness.at(30), now: Harness.at(3)) else {
            Issue.record("no lease"); return
        }
        #expect(try !vault.commitRefresh(connector: h.erp, version: before.version, owner: "n", grant: grant(9), now: Harness.at(4)))
        // A grant without a refresh token (client_credentials) keeps the one held.
        #expect(try vault.commitRefresh(connector: h.erp, version: after.version, owner: "n",
                                        grant: OAuthTokenGrant(accessToken: "access-2", accessExpiresAt: nil, refreshToken: nil),
                                        now: Harness.at(5)))
        let kept = try #require(try vault.oauthToken(connector: h.erp))
        #expect(kept.accessToken == "access-2" && kept.refreshToken == "refresh-1" && kept.version == after.version + 1)
    }

    @Test("a failed refresh releases the lease with its reason; invalid_grant drops the tokens and pauses the connector as auth",
          arguments: Backend.available)
    func failureAndPause(backend: Backend) throws {
        let h = try backend.make()
        let vault = try vault(h.store)
        try vault.seedRefreshToken(connector: h.erp, refreshToken: "refresh-0", now: Harness.at(0))
        _ = try vault.acquireRefreshLease(connector: h.erp, owner: "n", until: Harness.at(30), now: Harness.at(1))
        try vault.releaseRefreshLease(connector: h.erp, owner: "other", error: "not mine", now: Harness.at(2))
        #expect(try vault.oauthToken(connector: h.erp)?.refreshingOwner == "n")
        try vault.releaseRefreshLease(connector: h.erp, owner: "n", error: "token endpoint: HTTP 503", now: Harness.at(2))
        var record = try #require(try vault.oauthToken(connector: h.erp))
        #expect(record.refreshingOwner == nil && record.lastError == "token endpoint: HTTP 503" && record.refreshToken == "refresh-0")

        let reason = "paused: the token endpoint refused the refresh token (invalid_grant); sign in again: patchbay auth login erp"
        #expect(try vault.pauseForAuth(connector: h.erp, reason: reason, now: Harness.at(3)))
        // Another request that then finds no refresh token pauses again: the provider's reason stays.
        #expect(try !vault.pauseForAuth(connector: h.erp, reason: "erp has no OAuth refresh token", now: Harness.at(4)))
        let connector = try #require(try h.store.connector(named: "erp"))
        #expect(connector.paused && connector.pausedBy == .auth && connector.pausedReason == reason)
        record = try #require(try vault.oauthToken(connector: h.erp))
        #expect(record.refreshToken == nil && record.accessToken == nil && record.lastError == reason)
        // Claims skip it; a new refresh token from the configuration may seed again.
        try h.ingest("A", at: 5)
        #expect(try h.claim(at: 6).isEmpty)
        #expect(try vault.seedRefreshToken(connector: h.erp, refreshToken: "refresh-new", now: Harness.at(7)))
        #expect(try vault.oauthToken(connector: h.erp)?.refreshToken == "refresh-new")
    }

    @Test("a sign-in replaces the tokens, releases the lease, clears the error and resumes a connector paused by auth only; logout deletes",
          arguments: Backend.available)
    func signInAndOut(backend: Backend) throws {
        let h = try backend.make()
        let vault = try vault(h.store)
        // No row yet: a sign-in creates one.
        #expect(try !vault.storeSignIn(connector: h.erp, grant: grant(1), now: Harness.at(1)))
        var record = try #require(try vault.oauthToken(connector: h.erp))
        #expect(record.accessToken == "access-1" && record.refreshToken == "refresh-1" && record.scope == "accounting.transactions"
                && record.accessExpiresAt == Harness.at(100).millis && record.tokenType == "Bearer")
        let version = record.version

        // Refused: paused by auth with its tokens dropped and a lease held; the sign-in undoes all of it.
        _ = try vault.acquireRefreshLease(connector: h.erp, owner: "n", until: Harness.at(30), now: Harness.at(2))
        #expect(try vault.pauseForAuth(connector: h.erp, reason: "paused: refused", now: Harness.at(3)))
        try h.ingest("A", at: 4)
        #expect(try h.claim(at: 5).isEmpty)
        #expect(try vault.storeSignIn(connector: h.erp, grant: grant(2), now: Harness.at(6)))
        record = try #require(try vault.oauthToken(connector: h.erp))
        #expect(record.accessToken == "access-2" && record.refreshToken == "refresh-2" && record.lastError == nil
                && record.refreshingOwner == nil && record.refreshingUntil == nil && record.version > version)
        let connector = try #require(try h.store.connector(named: "erp"))
        #expect(!connector.paused && connector.pausedBy == nil && connector.pausedReason == nil)
        #expect(try h.claim(at: 7).count == 1)

        // An operator's pause stays through a sign-in.
        #expect(try h.store.setPaused("erp", paused: true, reason: "maintenance"))
        #expect(try !vault.storeSignIn(connector: h.erp, grant: grant(3), now: Harness.at(8)))
        #expect(try h.store.connector(named: "erp")?.pausedBy == .operator)

        #expect(try vault.deleteTokens(connector: h.erp))
        #expect(try vault.oauthToken(connector: h.erp) == nil)
        #expect(try !vault.deleteTokens(connector: h.erp))
    }
}
