import Foundation

/// The health reads of `status`, `failed --group`, the dashboard and the hub's alerts: money at risk
/// in failing deliveries, the traffic of sources, the runs of batch jobs. Every backend conforms;
/// the rules (`MoneyAtRiskTally`, `SourceActivityRule`) are shared, so a backend only runs SQL.
public protocol HealthReading: Sendable {
    /// The money carried by the failing (retrying or dead) deliveries of one connector, or of all
    /// of them, per currency. One aggregate query over those deliveries and their events.
    func moneyAtRisk(connector: ConnectorID?) throws -> MoneyAtRisk
    /// Money at risk in total, per connector and per error group, in one read.
    func moneyAtRiskReport() throws -> MoneyAtRiskReport
    /// Every source connector's traffic today and in the last `window` seconds, its last event,
    /// and whether it is quiet compared with the same time of the previous weeks.
    func sourceHealth(window: TimeInterval, now: Date) throws -> [ConnectorID: SourceHealth]
    /// Every batch job's last run (see `BatchJobHealth.isBatchJob`).
    func batchJobHealth() throws -> [ConnectorID: BatchJobHealth]
}
