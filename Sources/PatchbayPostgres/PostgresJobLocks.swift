import Foundation
import PatchbayModel
import PostgresNIO

extension PostgresStore: JobLocks {
    /// The first key of batch jobs' advisory locks ("PBJB"); the second is the job name's hash.
    static let jobLockSpace: Int32 = 0x5042_4A42

    /// A session-level advisory lock on a connection of the lock's own: it lasts until released,
    /// or until that connection ends, which is when the node holding it dies.
    public func tryJobLock(_ job: String) throws -> (any JobLock)? {
        let connection = try pool.detachConnection()
        do {
            let taken = try connection.query("""
                SELECT pg_try_advisory_lock(\(Self.jobLockSpace), hashtext(\(job)))
                """, logger: logger).wait().rows.first?.decode(Bool.self) ?? false
            guard taken else {
                _ = try? connection.close().wait()
                return nil
            }
            return PostgresJobLock(connection: connection)
        } catch {
            _ = try? connection.close().wait()
            throw Self.storeError(error, location: location)
        }
    }
}

/// Closing the connection releases the lock (and anything else it held).
final class PostgresJobLock: JobLock {
    private let connection: PostgresConnection

    init(connection: PostgresConnection) { self.connection = connection }

    func release() { _ = try? connection.close().wait() }
}
