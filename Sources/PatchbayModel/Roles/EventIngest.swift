import Foundation

/// What takes events in: the webhook server's group commit, batch jobs that publish events, the seeder.
///
/// `ingest` stores each event once (by source and idempotency key) with one delivery per target, in
/// one durable transaction per call; `recordRejections` keeps (or only counts) refused webhooks.
public protocol EventIngest: Sendable {
    func ingest(_ events: [NewEvent]) throws -> [IngestResult]
    func recordRejections(_ rejections: [NewRejection]) throws
}
