import Foundation
import Logging
import PatchbayConnectors
import PatchbayStore
import Synchronization

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
    private var inFlight: (id: Int, task: Task<Result<BearerToken, OAuthTokenFailure>, Never>)?
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

    func bearerToken(rejected: String?) async throws(OAuthTokenFailure) -> BearerToken {
        try await token(rejected: rejected).get()
    }

    private func token(rejected: String?) async -> Result<BearerToken, OAuthTokenFailure> {
        if let cached, cached.token != rejected, Self.isFresh(expiresAt: cached.expiresAt, issuedAt: cached.issuedAt, now: Date()) {
            return .success(BearerToken(value: cached.token, expiresAt: cached.expiresAt))
        }
        // Someone in this process is already getting one: share it (unless it is the rejected one).
        if let inFlight {
            let result = await inFlight.task.value
            if case .success(let token) = result, token.value == rejected {} else { return result }
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
    private func obtain(rejected: String?) async -> Result<BearerToken, OAuthTokenFailure> {
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

    private func usable(_ record: OAuthTokenRecord, rejected: String?, now: Date) -> BearerToken? {
        guard let token = record.accessToken, token != rejected,
              Self.isFresh(expiresAt: record.accessExpiresAt, issuedAt: record.updatedAt, now: now) else { return nil }
        cached = (token, record.accessExpiresAt, record.updatedAt)
        return BearerToken(value: token, expiresAt: record.accessExpiresAt)
    }

    /// One refresh, holding the lease: the token request, then the commit, then the token.
    private func refresh(from record: OAuthTokenRecord) async -> Result<BearerToken, OAuthTokenFailure> {
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
            return .success(BearerToken(value: grant.accessToken, refreshed: true, expiresAt: grant.accessExpiresAt))
        case .refused(let summary):
            return await pause("paused: \(summary); sign in again: patchbay auth login \(name) --config FILE "
                + "(it stores the new tokens and resumes \(name))")
        case .failed(let summary):
            await release(error: summary)
            return .failure(.unavailable(summary))
        }
    }

    private func pause(_ reason: String) async -> Result<BearerToken, OAuthTokenFailure> {
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
    /// Gives every connector that talks to a SaaS API (HTTP sinks, API pulls) its token service,
    /// after storing a configured first refresh token where the database holds none, and a
    /// recorder for the provider's quota readings.
    func bindTokenServices(_ definitions: [ConnectorDefinition], transport: any HTTPTransport) throws {
        for definition in definitions {
            guard let connection = definition.built.saasConnection else { continue }
            let id = id(of: definition.name)
            if let quota = connection.quota {
                let recorder = QuotaRecorder(connector: id, ledger: store, logger: logger)
                quota.bind { reading in recorder.offer(reading) }
            }
            guard let binding = connection.oauth else { continue }
            if let seed = binding.client.initialRefreshToken,
               try store.seedRefreshToken(connector: id, refreshToken: seed, now: Date()) {
                logger.info("oauth refresh token stored from the configuration", metadata: ["connector": "\(definition.name)"])
            }
            let timeout = (connection as? HTTPSink).map { min(.seconds(15), $0.timeout) } ?? .seconds(15)
            binding.bind(OAuthTokenService(connector: id, name: definition.name, client: binding.client, vault: store,
                                           transport: transport, owner: owner, logger: logger, requestTimeout: timeout))
        }
    }
}

/// Keeps a connector's last quota reading in the database without a write per request: the first
/// reading is written at once, later ones at most every `interval`, and the newest of a burst is
/// always the one written last (a write is scheduled for it), so what the dashboard shows is at most
/// `interval` old.
final class QuotaRecorder: Sendable {
    let connector: ConnectorID
    let ledger: any QuotaLedger
    let logger: Logger
    let interval: TimeInterval
    private let state = Mutex<(pending: QuotaReading?, scheduled: Bool, lastWrite: Date)>((nil, false, .distantPast))

    init(connector: ConnectorID, ledger: any QuotaLedger, logger: Logger, interval: TimeInterval = 2) {
        self.connector = connector
        self.ledger = ledger
        self.logger = logger
        self.interval = interval
    }

    func offer(_ reading: QuotaReading) {
        let delay: TimeInterval? = state.withLock { state in
            if let pending = state.pending, pending.at > reading.at { return nil }
            state.pending = reading
            guard !state.scheduled else { return nil }
            state.scheduled = true
            return max(0, state.lastWrite.addingTimeInterval(interval).timeIntervalSinceNow)
        }
        guard let delay else { return }
        Task.detached { [self] in
            if delay > 0 { try? await Task.sleep(for: .milliseconds(Int64(delay * 1000))) }
            let reading = state.withLock { state -> QuotaReading? in
                defer { state.pending = nil; state.scheduled = false; state.lastWrite = Date() }
                return state.pending
            }
            guard let reading else { return }
            let (ledger, quota) = (ledger, reading.quota(connector: connector))
            do {
                try await Blocking.run { try ledger.recordQuota(quota) }
            } catch {
                logger.warning("cannot store the API quota reading", metadata: ["connector": "\(connector)", "error": "\(error)"])
            }
        }
    }
}
