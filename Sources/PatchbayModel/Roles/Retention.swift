import Foundation

/// What retention removes: finished events past their keep time, minute rollups past a week,
/// refused requests, and the digests of signed bodies past the longest replay window.
public protocol Retention: Sendable {
    /// - Returns: how many events were removed.
    @discardableResult
    func prune(receivedBefore cutoff: Date, batchSize: Int) throws -> Int
    @discardableResult
    func pruneMinuteRollups(before cutoff: Date, batchSize: Int) throws -> Int
    @discardableResult
    func pruneRejections(before cutoff: Date, batchSize: Int) throws -> Int
    @discardableResult
    func pruneSignedBodies(before cutoff: Date) throws -> Int
}

extension Retention {
    /// Events (with their deliveries, attempts and transitions) deleted per transaction.
    public static var eventPruneBatch: Int { 2000 }
    /// Rollup rows or refused requests deleted per transaction.
    public static var rowPruneBatch: Int { 5000 }

    @discardableResult
    public func prune(receivedBefore cutoff: Date) throws -> Int {
        try prune(receivedBefore: cutoff, batchSize: Self.eventPruneBatch)
    }

    @discardableResult
    public func pruneMinuteRollups(before cutoff: Date) throws -> Int {
        try pruneMinuteRollups(before: cutoff, batchSize: Self.rowPruneBatch)
    }

    @discardableResult
    public func pruneRejections(before cutoff: Date) throws -> Int {
        try pruneRejections(before: cutoff, batchSize: Self.rowPruneBatch)
    }
}
