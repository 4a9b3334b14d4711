import Foundation
import Logging
import PatchbayConnectors
import PatchbayStore

/// An OAuth sink's bearer tokens, kept in the database (`TokenVault`) and refreshed ahead of
/// expiry by one node at a time.
///
/// A refresh takes the connector's refresh lease, sends the refresh token held in the database,
/// and commits the answer (the new access token and the rotated refresh token) in one transaction
/// over the version it refreshed from, before any request uses the new access token. The old
/// refresh token is never sent again after that commit. A node that dies between the answer and
/// the commit leaves the database as it was: its lease runs out and the next refresh sends the
/// previous refresh token again, which providers accept for a grace period after rotating it.
///
/// `invalid_grant` (and `invalid_client`, `unauthorized_client`) pauses the connector
/// (`paused_by = 'auth'`) with what to do; every other failure leaves the delivery to retry.
/// Within this process, requests that need a refresh at the same moment share one.
actor OAuthTokenService: BearerTokenProvider {
    let connector: ConnectorID
    let name: String
    let client: OAuthClient
    let vault: any TokenVault
    let transport: any HTTPTransport
    let owner: String
    let logger: Logger
    /// How long one refresh may hold the lease; longer than the token request's timeout.
    let leaseLength: TimeInterval
    /// How long a request waits for another node's refresh before it gives up (and retries later).
    let waitForOthers: TimeInterval
    let requestTimeout: Duration

    private var cached: (token: String, expiresAt: Int64?, issuedAt: Int64)?
    private var inFlight: (id: Int, task: Task<Result<String, OAuthTokenFailure>, Never>)?
    private var nextId = 0

    init(connector: ConnectorID, name: String, client: OAuthClient, vault: any TokenVault, transport: any HTTPTransport,
         owner: String, logger: Logger, leaseLength: TimeInterval = 30, waitForOthers: TimeInterval = 10,
         requestTimeout: Duration = .seconds(15)) {
        self.connector = connector
        self.name = name
        self.client = client
        self.vault = vault
        self.transport = transport
        self.owner = owner
        self.logger = logger
        self.leaseLength = leaseLength
        self.waitForOthers = waitForOthers
        self.requestTimeout = requestTimeout
    }

    /// Whether a token is good for a request sent now: unexpired, with a margin of a third of its
    /// lifetime, at most 60 s (Xero's 30-minute tokens are refreshed a minute early). A token whose
    /// expiry is unknown is good until the target answers 401.
    static func isFresh(expiresAt: Int64?, issuedAt: Int64, now: Date) -> Bool {
        guard let expiresAt else { return true }
        let margin = min(60_000, max(0, expiresAt - issuedAt) / 3)
        return now.millis < expiresAt - margin
    }

    func bearerToken(rejected: String?) async throws(OAuthTokenFailure) -> String {
        try await token(rejected: rejected).get()
    }

    private func token(rejected: String?) async -> Result<String, OAuthTokenFailure> {
        if let cached, cached.token != rejected, Self.isFresh(expiresAt: cached.expiresAt, issuedAt: cached.issuedAt, now: Date()) {
            return .success(cached.token)
        }
        // Someone in this process is already getting one: share it (unless it is the rejected one).
        if let inFlight {
            let result = await inFlight.task.value
            if case .success(let token) = result, token == rejected {} else { return result }
        }
        nextId += 1
        let id = nextId
        let task = Task { await self.obtain(rejected: rejected) }
        inFlight = (id, task)
        let result = await task.value
        if inFlight?.id == id { inFlight = nil }
        return result
    }

    /// The stored token if it is good, otherwise a refresh under the lease, or the refresh of the
    /// node that holds it.
    private func obtain(rejected: String?) async -> Result<String, OAuthTokenFailure> {
        let deadline = Date().addingTimeInterval(waitForOthers)
        var attempts = 0
        while true {
            attempts += 1
            let now = Date()
            let lease: OAuthLease
            do {
                if let record = try await blocking({ [vault, connector] in try vault.oauthToken(connector: connector) }),
                   let token = usable(record, rejected: rejected, now: now) {
                    return .success(token)
                }
                let (vault, connector, owner, until) = (vault, connector, owner, now.addingTimeInterval(leaseLength))
                lease = try await blocking { try vault.acquireRefreshLease(connector: connector, owner: owner, until: until, now: now) }
            } catch {
                return .failure(.unavailable("cannot read the stored tokens: \(error)"))
            }
            switch lease {
            case .held(let record):
                if let token = usable(record, rejected: rejected, now: now) { return .success(token) }
                guard Date() < deadline else {
                    return .failure(.unavailable("another hub node has been refreshing the token since before "
                        + "\(Int(waitForOthers)) s ago (lease until \(record.refreshingUntil.map { Date(millis: $0).iso8601 } ?? "?"))"))
                }
                try? await Task.sleep(for: .milliseconds(100))
            case .acquired(let record):
                // Another node may have committed between the read and the lease.
                if let token = usable(record, rejected: rejected, now: now) {
                    await release(error: nil)
                    return .success(token)
                }
                let result = await refresh(from: record)
                if case .failure(.unavailable(let message)) = result, message == Self.leaseLost, attempts < 3 { continue }
                return result
            }
        }
    }

    private static let leaseLost = "the refresh lease was taken over before the new tokens were committed"

    private func usable(_ record: OAuthTokenRecord, rejected: String?, now: Date) -> String? {
        guard let token = record.accessToken, token != rejected,
              Self.isFresh(expiresAt: record.accessExpiresAt, issuedAt: record.updatedAt, now: now) else { return nil }
        cached = (token, record.accessExpiresAt, record.updatedAt)
        return token
    }

    /// One refresh, holding the lease: the token request, then the commit, then the token.
    private func refresh(from record: OAuthTokenRecord) async -> Result<String, OAuthTokenFailure> {
        if client.grant == .refreshToken, record.refreshToken == nil {
            return await pause("\(name) has no OAuth refresh token: sign in: patchbay auth login \(name) --config FILE "
                + "(it stores the tokens and resumes \(name))")
        }
        let requestedAt = Date()
        let request = client.tokenRequest(refreshToken: record.refreshToken)
        let response: OutboundResponse
        do {
            response = try await transport.send(request, timeout: requestTimeout)
        } catch {
            let message: String
            switch error {
            case .timeout: message = "the token endpoint did not answer in time"
            case .connection(let detail): message = "cannot reach the token endpoint: \(detail)"
            }
            await release(error: message)
            return .failure(.unavailable(message))
        }
        switch OAuthClient.read(status: response.status, body: response.body, requestedAt: requestedAt) {
        case .granted(let grant):
            // Committed before anyone uses the new access token: the rotated refresh token is in
            // the database before the old one could be needed again.
            let committed: Bool
            do {
                let (vault, connector, owner, version) = (vault, connector, owner, record.version)
                committed = try await blocking {
                    try vault.commitRefresh(connector: connector, version: version, owner: owner, grant: grant, now: requestedAt)
                }
            } catch {
                // Not committed (or not known to be): the lease runs out and the next refresh sends
                // the refresh token the database still holds.
                logger.warning("oauth tokens not committed", metadata: ["connector": "\(name)", "error": "\(error)"])
                return .failure(.unavailable("the new tokens could not be stored: \(error)"))
            }
            guard committed else { return .failure(.unavailable(Self.leaseLost)) }
            cached = (grant.accessToken, grant.accessExpiresAt, requestedAt.millis)
            logger.info("oauth token refreshed", metadata: [
                "connector": "\(name)",
                "expires": "\(grant.accessExpiresAt.map { Date(millis: $0).iso8601 } ?? "unknown")",
                "rotated": "\(grant.refreshToken != nil)",
            ])
            return .success(grant.accessToken)
        case .refused(let summary):
            return await pause("paused: \(summary); sign in again: patchbay auth login \(name) --config FILE "
                + "(it stores the new tokens and resumes \(name))")
        case .failed(let summary):
            await release(error: summary)
            return .failure(.unavailable(summary))
        }
    }

    private func pause(_ reason: String) async -> Result<String, OAuthTokenFailure> {
        cached = nil
        let (vault, connector, now) = (vault, connector, Date())
        do {
            if try await blocking({ try vault.pauseForAuth(connector: connector, reason: reason, now: now) }) {
                logger.error("connector paused: oauth credentials refused", metadata: ["connector": "\(name)", "reason": "\(reason)"])
            }
        } catch {
            logger.error("cannot pause the connector", metadata: ["connector": "\(name)", "error": "\(error)"])
        }
        return .failure(.revoked(reason))
    }

    private func release(error: String?) async {
        let (vault, connector, owner, now) = (vault, connector, owner, Date())
        _ = try? await blocking { try vault.releaseRefreshLease(connector: connector, owner: owner, error: error, now: now) }
    }

    private func blocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await Blocking.run(body)
    }
}

extension HubRuntime {
    /// Gives every OAuth sink its token service, after storing a configured first refresh token
    /// where the database holds none.
    func bindTokenServices(_ sinks: [(ConnectorDefinition, any Sink)], transport: any HTTPTransport) throws {
        for (definition, sink) in sinks {
            guard let http = sink as? HTTPSink, let binding = http.oauth else { continue }
            let id = id(of: definition.name)
            if let seed = binding.client.initialRefreshToken,
               try store.seedRefreshToken(connector: id, refreshToken: seed, now: Date()) {
                logger.info("oauth refresh token stored from the configuration", metadata: ["connector": "\(definition.name)"])
            }
            binding.bind(OAuthTokenService(connector: id, name: definition.name, client: binding.client, vault: store,
                                           transport: transport, owner: owner, logger: logger,
                                           requestTimeout: min(.seconds(15), http.timeout)))
        }
    }
}
