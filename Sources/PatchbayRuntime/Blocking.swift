import Dispatch
import Foundation

/// Runs blocking store calls (SQLite, fsync) off Swift's cooperative pool, which has only as many
/// threads as cores: a blocked cooperative thread would stall every task on the machine.
enum Blocking {
    private static let queue = DispatchQueue(label: "patchbay.store", qos: .userInitiated, attributes: .concurrent)

    static func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}

/// Group commit: callers submit items; whoever arrives while a commit is running waits for the next
/// one, which takes everything that queued up. One fsync acknowledges many requests, and nobody is
/// answered before the commit that holds their item returned.
actor GroupCommitter<Item: Sendable, Output: Sendable> {
    private var pending: [(item: Item, continuation: CheckedContinuation<Output, any Error>)] = []
    private var running = false
    private let maxBatch: Int
    /// Commits a batch, all or nothing; returns one output per item, in order.
    private let commit: @Sendable ([Item]) throws -> [Output]
    /// When a batch fails as a whole, items are retried one by one so one bad item fails alone.
    private let isolate: Bool

    init(maxBatch: Int = 1000, isolate: Bool = true, commit: @escaping @Sendable ([Item]) throws -> [Output]) {
        self.maxBatch = maxBatch
        self.isolate = isolate
        self.commit = commit
    }

    func submit(_ item: Item) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            pending.append((item, continuation))
            if !running {
                running = true
                Task { await self.drain() }
            }
        }
    }

    private func drain() async {
        while !pending.isEmpty {
            let batch = Array(pending.prefix(maxBatch))
            pending.removeFirst(batch.count)
            let items = batch.map(\.item)
            let commit = self.commit
            do {
                let outputs = try await Blocking.run { try commit(items) }
                for (entry, output) in zip(batch, outputs) { entry.continuation.resume(returning: output) }
            } catch {
                if isolate, batch.count > 1 {
                    for entry in batch {
                        let item = entry.item
                        do {
                            let output = try await Blocking.run { try commit([item])[0] }
                            entry.continuation.resume(returning: output)
                        } catch {
                            entry.continuation.resume(throwing: error)
                        }
                    }
                } else {
                    for entry in batch { entry.continuation.resume(throwing: error) }
                }
            }
        }
        running = false
    }
}
