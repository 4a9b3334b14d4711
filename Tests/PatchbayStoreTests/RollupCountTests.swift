import Foundation
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
