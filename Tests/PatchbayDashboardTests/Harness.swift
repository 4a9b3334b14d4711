import Foundation
import PatchbayDashboard
import PatchbayHub
import PatchbayStore
import TerminalUI
import TestSupport
import Testing

/// A fixed moment, so seeded data, relative times and the clock render the same on every run.
let fixedNow = Date(timeIntervalSince1970: 1_795_600_800)  // 2026-11-25T10:00:00Z

/// A dashboard over a seeded temporary database, with work run immediately.
final class Harness {
    let store: Store
    let directory: TemporaryDirectory
    let dashboard: Dashboard
    let executor: ImmediateExecutor

    init(events: Int = 300, days: Int = 1, readOnly: Bool = false, seed: Bool = true) throws {
        (store, directory) = try makeTestStore(homeCurrency: "EUR")
        if seed {
            try Seeder(options: .init(events: events, days: days, seed: 7, now: fixedNow)).run(on: store)
            try InvoiceSeeder(seed: 7, now: fixedNow, invoices: 40, nights: 3).run(on: store)
        }
        executor = ImmediateExecutor()
        dashboard = Dashboard(reader: store, actor: readOnly ? nil : store, executor: executor,
                              databasePath: "/data/patchbay.sqlite", theme: .default, now: fixedNow)
        executor.dashboard = dashboard
        dashboard.reload()
    }

    deinit { directory.remove() }

    func press(_ keys: Key...) {
        for key in keys { dashboard.handle(.key(key)) }
    }

    func type(_ text: String) {
        for character in text { dashboard.handle(.key(.character(character))) }
    }

    func screen(_ width: Int = 120, _ height: Int = 40) -> Buffer {
        dashboard.render(size: Size(width: width, height: height))
    }
}

/// Compares a screen with `Snapshots/NAME.txt`. `PATCHBAY_RECORD_SNAPSHOTS=1` rewrites the file on purpose.
func expectSnapshot(_ buffer: Buffer, named name: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Snapshots/\(name).txt")
    let actual = buffer.lines().joined(separator: "\n") + "\n"
    if ProcessInfo.processInfo.environment["PATCHBAY_RECORD_SNAPSHOTS"] == "1" {
        try? actual.write(to: url, atomically: true, encoding: .utf8)
        return
    }
    guard let expected = try? String(contentsOf: url, encoding: .utf8) else {
        Issue.record("missing snapshot \(name).txt: run with PATCHBAY_RECORD_SNAPSHOTS=1 to record it", sourceLocation: sourceLocation)
        return
    }
    if expected != actual {
        let diff = zip(expected.split(separator: "\n", omittingEmptySubsequences: false),
                       actual.split(separator: "\n", omittingEmptySubsequences: false))
            .enumerated().first { $0.element.0 != $0.element.1 }
        Issue.record("""
            screen differs from \(name).txt at line \((diff?.offset ?? 0) + 1):
            expected: \(diff.map { String($0.element.0) } ?? "")
            actual:   \(diff.map { String($0.element.1) } ?? "")
            """, sourceLocation: sourceLocation)
    }
}
