import Foundation
import Logging
import NIOCore
import PatchbayModel
import PostgresNIO
import Synchronization

extension PostgresStore: ChangeFeed {
    /// Listens on `patchbay_changes` on a connection of its own (outside the pool), reconnecting
    /// after a second when it drops; after a reconnect it reports `.reconnected`, since notifications sent
    /// meanwhile were lost.
    public func watchChanges(_ handler: @escaping @Sendable (StoreChange) -> Void) throws -> any ChangeSubscription {
        let listener = PostgresListener(location: location, logger: logger, handler: handler)
        try listener.connectOnce()
        listener.keepListening()
        return listener
    }
}

final class PostgresListener: ChangeSubscription, Sendable {
    private let location: PostgresLocation
    private let logger: Logger
    private let handler: @Sendable (StoreChange) -> Void
    private let connection = Mutex<PostgresConnection?>(nil)
    private let stopped = Atomic<Bool>(false)

    init(location: PostgresLocation, logger: Logger, handler: @escaping @Sendable (StoreChange) -> Void) {
        self.location = location
        self.logger = logger
        self.handler = handler
    }

    func connectOnce() throws {
        let opened = try ConnectionPool.connect(location, logger: logger)
        let handler = self.handler
        opened.addListener(channel: PostgresChanges.channel) { _, notification in
            handler(Self.change(notification.payload))
        }
        do {
            _ = try opened.query(PostgresQuery(unsafeSQL: "LISTEN \(PostgresChanges.channel)"), logger: logger).wait()
        } catch {
            _ = try? opened.close().wait()
            throw PostgresStore.storeError(error, location: location)
        }
        connection.withLock { $0 = opened }
    }

    /// Waits on a background thread for the connection to close, and opens a new one.
    func keepListening() {
        let thread = Thread { [self] in
            while !stopped.load(ordering: .acquiring) {
                if let current = connection.withLock({ $0 }) {
                    _ = try? current.closeFuture.wait()
                }
                guard !stopped.load(ordering: .acquiring) else { return }
                Thread.sleep(forTimeInterval: 1)
                do {
                    try connectOnce()
                    handler(.reconnected)
                } catch {
                    connection.withLock { $0 = nil }
                }
            }
        }
        thread.name = "patchbay-postgres-listener"
        thread.start()
    }

    static func change(_ payload: String) -> StoreChange {
        guard payload.hasPrefix("due:") else { return .other }
        return .due(Set(payload.dropFirst(4).split(separator: ",").compactMap { Int64($0) }))
    }

    func cancel() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        if let current = connection.withLock({ $0 }) { _ = try? current.close().wait() }
    }
}
