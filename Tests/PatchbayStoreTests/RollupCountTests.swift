import Foundation
import PatchbayHub
@testable import PatchbayStore
import TestSupport
import Testing

@Suite("Counts since a time, from the hourly and per-minute rollups")
struct RollupCountTests {
    private typealias T = DeliveryFixture

    @Test("rejectedCount(since:) equals a count of the refused requests received since, at any minute")
    func rejectedCountMatchesTheRows() throws {
        let f = try DeliveryFixture()
        defer { f.directory.remove() }
        // Refusals over three hours, some without a connector (they are not counted per connector).
        var times: [Int64] = []
        var rejections: [NewRejection] = []
        for i in 0..<90 {
            let seconds = Int64(i * 127 + (i % 7) * 13)
            let connector: ConnectorID? = i % 5 == 0 ? nil : (i % 2 == 0 ? f.shop : f.mail)
            times.append(seconds)
            rejections.append(NewRejection(connectorId: connector, receivedAt: T.at(seconds), status: 401,
                                           reason: "bad signature", remote: nil, path: "/webhooks/shop",
                                           bodyBytes: 10, bodyExcerpt: nil))
        }
        try f.store.recordRejections(rejections)
        let counted = times.enumerated().filter { $0.offset % 5 != 0 }.map(\.element)
        for since in stride(from: Int64(-100), through: 12_000, by: 331) {
            let expected = counted.filter { T.ms($0) / 60_000 >= T.ms(since) / 60_000 }.count
            #expect(try f.store.rejectedCount(since: T.at(since)) == expected, "since +\(since) s")
        }
    }
}

@Suite("Failing counts from the rollups equal a count of the rows")
struct FailingCountTests {
    @Test("every connector, state and error group, before and after operators retry and discard")
    func rollupCountsMatchTheRows() throws {
        let (store, directory) = try makeTestStore()
        defer { directory.remove() }
        let now = Date(millis: 1_795_623_360_000)
        try Seeder(options: Seeder.Options(events: 1200, days: 2, seed: 11, now: now)).run(on: store)

        func check(_ label: String) throws {
            let connectors = try store.connectors().map(\.id)
            let groups = try store.errorGroups(limit: 500)
            #expect(!groups.isEmpty, "the seeded history has failures")
            var filters: [FailureFilter] = []
            for states in [Set<DeliveryState>(), [.retrying], [.dead], [.retrying, .dead], [.delivered], [.dead, .pending]] {
                filters.append(FailureFilter(states: states))
                for connector in connectors { filters.append(FailureFilter(connectorId: connector, states: states)) }
                for group in groups {
                    filters.append(FailureFilter(errorGroupId: group.id, states: states))
                    filters.append(FailureFilter(connectorId: group.connectorId, errorGroupId: group.id, states: states))
                    if let other = connectors.first(where: { $0 != group.connectorId }) {
                        filters.append(FailureFilter(connectorId: other, errorGroupId: group.id, states: states))
                    }
                }
            }
            var nonZero = 0
            for filter in filters {
                let fast = try store.failingCount(filter)
                let rows = try store.read { db in try Store.failingCountByRows(filter, db: db) }
                #expect(fast == rows, "\(label): \(filter)")
                if fast > 0 { nonZero += 1 }
            }
            #expect(nonZero > 10, "\(label): the filters select something")
        }
        try check("seeded")

        // Operators act: requeue one group, discard some dead letters, retry a few by id.
        let groups = try store.errorGroups(limit: 500)
        _ = try store.retry(matching: FailureFilter(errorGroupId: groups[0].id), now: now)
        let dead = try store.failedDeliveries(FailureFilter(states: [.dead]), limit: 30)
        _ = try store.discard(dead.prefix(10).map(\.id), now: now)
        _ = try store.retry(dead.suffix(5).map(\.id), now: now)
        try check("after operator actions")

        // A time range is counted by rows, and stays within the unranged count.
        let ranged = try store.failingCount(FailureFilter(since: now.addingTimeInterval(-3600)))
        #expect(ranged <= (try store.failingCount(FailureFilter())))
        #expect(throws: StoreError.self) { try store.failingCount(FailureFilter(errorGroupId: 999_999)) }
    }
}
