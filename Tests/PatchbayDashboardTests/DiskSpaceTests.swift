import Foundation
import PatchbayDashboard
import PatchbayStore
import TerminalUI
import TestSupport
import Testing

/// When the disk under the database fills, nothing can be written, so the hub cannot record why it
/// answers 503: the dashboard reads the filesystem and says so in the header and the status line.
@Suite("Disk space")
struct DiskSpaceTests {
    @Test("levels: full below 64 MiB or 5 %, low below 1 GiB or 10 %, the smaller of each")
    func levels() {
        let gib: Int64 = 1 << 30, mib: Int64 = 1 << 20
        #expect(DiskSpace(available: 200 * gib, total: 250 * gib).level == .ok)
        #expect(DiskSpace(available: 900 * mib, total: 250 * gib).level == .low)
        #expect(DiskSpace(available: 63 * mib, total: 250 * gib).level == .full)
        #expect(DiskSpace(available: 0, total: 250 * gib).level == .full)
        // A 6 MiB filesystem (the full-disk proof's tmpfs): 5 % is 307 KiB, 10 % is 614 KiB.
        #expect(DiskSpace(available: 5 * mib, total: 6 * mib).level == .ok)
        #expect(DiskSpace(available: 400 * 1024, total: 6 * mib).level == .low)
        #expect(DiskSpace(available: 12 * 1024, total: 6 * mib).level == .full)
    }

    @Test func formatting() {
        #expect(DiskSpace.format(bytes: 0) == "0 B")
        #expect(DiskSpace.format(bytes: 12 * 1024) == "12 KiB")
        #expect(DiskSpace.format(bytes: 1536) == "1.5 KiB")
        #expect(DiskSpace.format(bytes: 840 << 20) == "840 MiB")
        #expect(DiskSpace.format(bytes: -5) == "0 B")
    }

    @Test("reads the filesystem of the database's directory, even before the file exists")
    func readsTheFilesystem() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let space = try #require(DiskSpace.of(databasePath: directory.path("not-yet.sqlite")))
        #expect(space.total > 0)
        #expect(space.available >= 0 && space.available <= space.total)
        #expect(DiskSpace.of(databasePath: "/no/such/directory/patchbay.sqlite") == nil)
    }

    @Test("a full disk shows in the header and explains itself in the status line; recovery clears it")
    func fullDiskOnScreen() throws {
        let harness = try Harness()
        let mib: Int64 = 1 << 20
        #expect(harness.dashboard.updateDisk(DiskSpace(available: 100 * 1024, total: 6 * mib)))
        var screen = harness.screen(120, 40)
        var lines = screen.lines()
        #expect(lines[0].contains("DISK FULL (100 KiB free)"), "\(lines[0])")
        let status = lines[lines.count - 2]
        #expect(status.contains("disk full: 100 KiB free where the database is"), "\(status)")
        #expect(status.contains("503"))
        // In the error style, so it is not mistaken for a note.
        let column = try #require(lines[0].range(of: "DISK FULL").map { lines[0].distance(from: lines[0].startIndex, to: $0.lowerBound) })
        #expect(screen[column, 0].style.foreground == harness.dashboard.theme.error.foreground)

        // Small terminals keep the warning, shorter.
        #expect(harness.screen(80, 24).lines()[0].contains("DISK FULL"))

        // The same reading again changes nothing on screen: no redraw for an idle dashboard.
        #expect(!harness.dashboard.updateDisk(DiskSpace(available: 100 * 1024, total: 6 * mib)))
        // Low, then space back: the header follows, the status line forgets.
        #expect(harness.dashboard.updateDisk(DiskSpace(available: 500 * 1024, total: 6 * mib)))
        lines = harness.screen(120, 40).lines()
        #expect(lines[0].contains("disk low (500 KiB free)"), "\(lines[0])")
        #expect(!lines[lines.count - 2].contains("disk full"))
        #expect(harness.dashboard.updateDisk(DiskSpace(available: 5 * mib, total: 6 * mib)))
        screen = harness.screen(120, 40)
        #expect(!screen.lines()[0].contains("DISK") && !screen.lines()[0].contains("disk low"))
        // Free space that moves while it is fine is not worth a redraw.
        #expect(!harness.dashboard.updateDisk(DiskSpace(available: 4 * mib, total: 6 * mib)))
    }
}
