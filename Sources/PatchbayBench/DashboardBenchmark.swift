import Foundation
import PatchbayDashboard
import PatchbayHub
import PatchbayStore
import TerminalUI
#if canImport(Glibc)
import Glibc
#endif

/// The dashboard as the person on call meets it, on the large database the reads are timed on:
/// one overview frame built in memory, then the real `patchbay` binary on a pseudo-terminal of our
/// own (the first frame after launch, the bytes a one-number refresh sends, the CPU it burns idle).
struct DashboardBenchmark {
    var builder: HistoryBuilder
    var repeatCount: Int
    var rebuild: Bool
    var idleSeconds: Int

    static let width = 200
    static let height = 60
    static let frameGoal = 0.010
    static let launchGoal = 0.300
    /// Percent of one core.
    static let idleGoal = 1.0
    /// Launches timed for the first frame; the last one stays up for the idle figure.
    static let launches = 5
    /// How long to wait for a frame before calling the launch a failure (debug builds on 10 M are slow).
    static let frameTimeout = 120.0
    /// The refresh figure runs on a copy of the large database, so the shared one is never written;
    /// above this size (or without room for it) a small seeded database is used instead.
    static let copyLimit: Int64 = 4 << 30
    static let refreshWindow = 2.0
    /// A frame's bytes arrive together; a pause this long ends it.
    static let frameGap = 0.05
    static let area = "dashboard"

    func run(_ report: inout Report) throws {
        report.section("Dashboard on \(Format.count(builder.events)) events, \(Self.width)x\(Self.height)")
        let manifest = try builder.prepare(rebuild: rebuild, report: report)
        try timeFrames(&report, now: Date(millis: manifest.endMillis))

        guard let binary = Self.patchbayBinary() else {
            let expected = Self.binaryBeside(CommandLine.arguments[0])
            report.emit("  no patchbay binary at \(expected): launch, refresh and idle figures skipped.")
            report.emit("  Build it beside the bench: swift build -c release --product patchbay")
            for figure in ["first frame after launch", "refresh, one number changed", "idle live mode, CPU"] {
                report.record(Self.area, figure, "skipped (no patchbay binary)")
            }
            return
        }
        report.emit("  binary: \(binary)")
        let idle = try timeLaunches(&report, binary: binary)
        defer { idle.stop() }
        try measureIdle(&report, idle)
        idle.stop()
        try measureRefresh(&report, binary: binary)
    }

    // MARK: 1. One overview frame, in memory

    /// Reads the overview through the store and renders it at 200x60, as the drawing loop does on a refresh.
    private func timeFrames(_ report: inout Report, now: Date) throws {
        let store = try Store.open(at: builder.path, mode: .existing)
        let executor = ImmediateExecutor()
        let dashboard = Dashboard(reader: store, actor: nil, executor: executor, databasePath: builder.path,
                                  theme: .default, now: now)
        executor.dashboard = dashboard
        let window = dashboard.state.window
        let size = Size(width: Self.width, height: Self.height)

        func frame() throws -> (read: Double, render: Double, buffer: Buffer) {
            let (snapshot, read) = try Monotonic.time { try store.overview(window: window, now: now) }
            let (buffer, render) = Monotonic.time { () -> Buffer in
                dashboard.receive(.overview(snapshot))
                return dashboard.render(size: size)
            }
            return (read, render, buffer)
        }

        report.progress("overview frame, \(Self.width)x\(Self.height)")
        let first = try frame()
        var reads = Samples(), renders = Samples(), frames = Samples()
        let started = Monotonic.now()
        while frames.count < repeatCount
                && (frames.count < ReadBenchmark.minimumRuns || Monotonic.now() - started < ReadBenchmark.budget) {
            let (read, render, _) = try frame()
            reads.add(read)
            renders.add(render)
            frames.add(read + render)
        }

        let goal = Goal.atMost(frames.p99, Self.frameGoal)
        var table = TextTable(headers: ["overview frame (\(window.label) window)", "median", "p99", "first run", "runs", "goal", "verdict"],
                              rightAligned: [1, 2, 3, 4])
        table.add(["read the overview data", Format.duration(reads.median), Format.duration(reads.p99),
                   Format.duration(first.read), Format.count(reads.count), "", ""])
        table.add(["render \(Self.width)x\(Self.height) into the buffer", Format.duration(renders.median),
                   Format.duration(renders.p99), Format.duration(first.render), Format.count(renders.count), "", ""])
        table.add(["read + render", Format.duration(frames.median), Format.duration(frames.p99),
                   Format.duration(first.read + first.render), Format.count(frames.count), goal.text, goal.verdict])
        report.emit(table.render())
        let header = first.buffer.lines().first?.trimmingCharacters(in: .whitespaces) ?? ""
        report.emit("  the frame's header: " + header.replacingOccurrences(of: " {4,}", with: "  …  ", options: .regularExpression))
        if !first.buffer.text.contains("quit") || !header.contains("events today") {
            report.emit("  WARNING: the rendered frame lacks its header or key hints")
        }
        report.emit("  (as of the end of the history; \"read + render\" is per run, its p99 held to the goal)")

        report.record(Self.area, "overview frame: read the data",
                      "p99 " + Format.duration(reads.p99) + " (median " + Format.duration(reads.median) + ")")
        report.record(Self.area, "overview frame: render \(Self.width)x\(Self.height)",
                      "p99 " + Format.duration(renders.p99) + " (median " + Format.duration(renders.median) + ")")
        report.record(Self.area, "overview frame: read + render",
                      "p99 " + Format.duration(frames.p99) + " (median " + Format.duration(frames.median) + ")", goal: goal)
    }

    // MARK: 2. First frame after launch

    /// Launches `patchbay dash --read-only` on the large database a few times; returns the last one, still running.
    private func timeLaunches(_ report: inout Report, binary: String) throws -> PtySession {
        var firsts = Samples()
        var withData = Samples()
        var endings: [String] = []
        var empty = 0
        var last: PtySession?
        for launch in 1...Self.launches {
            report.progress("launch \(launch) of \(Self.launches): patchbay dash --read-only")
            let session = try PtySession(binary: binary, arguments: ["dash", "--db", builder.path, "--read-only"],
                                         width: Self.width, height: Self.height)
            do {
                // The key hints are the footer, the last row ncurses sends: the frame is complete.
                let frame = try session.waitFor("quit", timeout: Self.frameTimeout)
                firsts.add(frame - session.started)
                // The throughput legend is drawn only once the overview's data has arrived.
                let data = try session.waitForFrame(containing: "received", timeout: Self.frameTimeout)
                withData.add(max(frame, data) - session.started)
                if data > frame { empty += 1 }
            } catch {
                session.stop()
                throw error
            }
            if launch < Self.launches {
                endings.append(session.stop())
            } else {
                last = session
            }
        }
        let goal = Goal.atMost(firsts.median, Self.launchGoal)
        let runs = firsts.seconds.map(Format.duration).joined(separator: ", ")
        let dataRuns = withData.seconds.map(Format.duration).joined(separator: ", ")
        report.emit("\n  first frame after launch (spawn until the footer's key hints are written), \(Self.launches) launches:")
        report.emit("    median \(Format.duration(firsts.median)) (\(runs)); goal \(goal.text): \(goal.verdict)")
        report.emit("  first frame with the overview's data (until that frame's last byte):")
        report.emit("    median \(Format.duration(withData.median)) (\(dataRuns))")
        if empty > 0 {
            report.emit("    in \(empty) of \(Self.launches) launches the first frame came before the data: panels empty, \"events today 0\"")
        }
        let stops = Dictionary(grouping: endings, by: { $0 }).map { "\($0.value.count) by \($0.key)" }.sorted()
        report.emit("  (pty \(Self.width)x\(Self.height), TERM=xterm-256color; the launches ended: " + stops.joined(separator: ", ") + ")")
        report.record(Self.area, "first frame after launch", "median " + Format.duration(firsts.median), goal: goal)
        report.record(Self.area, "first frame with data after launch", "median " + Format.duration(withData.median))
        return last!
    }

    // MARK: 4. Idle live mode

    private func measureIdle(_ report: inout Report, _ session: PtySession) throws {
        report.progress("idle live mode for \(idleSeconds) s")
        _ = session.waitForQuiet(gap: 1, timeout: 5)
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard let startTicks = session.cpuTicks() else { throw BenchError("cannot read /proc/\(session.pid)/stat") }
        let start = Monotonic.now()
        let startBytes = session.count
        Thread.sleep(forTimeInterval: Double(idleSeconds))
        guard let endTicks = session.cpuTicks() else {
            throw BenchError("the dashboard (pid \(session.pid)) exited during the idle measurement")
        }
        let wall = Monotonic.now() - start
        let bytes = session.count - startBytes
        let rows = Set(ScreenWrites.decode(session.bytes(from: 0), from: startBytes).runs.map(\.row)).sorted()
        let percent = Double(endTicks - startTicks) / ticksPerSecond / wall * 100
        let goal = Goal(text: "≤ " + Format.fixed(Self.idleGoal, 0) + " % of a core", met: percent <= Self.idleGoal)
        report.emit("\n  idle live mode, \(Format.fixed(wall, 1)) s, nothing changing (utime + stime of /proc/\(session.pid)/stat):")
        report.emit("    \(Format.fixed(percent, 2)) % of one core (\(endTicks - startTicks) ticks of 1/\(Int(ticksPerSecond)) s); "
            + "goal \(goal.text): \(goal.verdict)")
        report.emit("    \(Format.count(bytes)) bytes written to the terminal meanwhile (\(Format.fixed(Double(bytes) / wall, 1)) a second), "
            + "rewriting rows " + rows.map(String.init).joined(separator: ", ") + " (row 1: the header clock)")
        report.record(Self.area, "idle live mode, CPU (\(Int(wall.rounded())) s)", Format.fixed(percent, 2) + " % of a core", goal: goal)
    }

    // MARK: 3. Bytes for a one-number refresh

    private func measureRefresh(_ report: inout Report, binary: String) throws {
        let (path, what) = try refreshDatabase(report)
        defer { BenchFiles.remove(path) }
        let store = try Store.open(at: path, mode: .existing)
        guard let source = try store.connectorStatuses().first(where: { $0.connector.direction == .source })?.connector else {
            throw BenchError("\(path) has no source connector")
        }
        // The overview is read at launch and then only on a change: a refresh in a later minute than
        // the launch also moves the throughput chart by a column. Launch early enough in a minute.
        let second = Date().timeIntervalSince1970.truncatingRemainder(dividingBy: 60)
        if second > 45 { Thread.sleep(forTimeInterval: 60.2 - second) }
        let launchedWall = Date().timeIntervalSince1970
        report.progress("refresh: patchbay dash on \(what)")
        let session = try PtySession(binary: binary, arguments: ["dash", "--db", path],
                                     width: Self.width, height: Self.height)
        defer { session.stop() }
        _ = try session.waitFor("quit", timeout: Self.frameTimeout)
        _ = try session.waitForFrame(containing: "received", timeout: Self.frameTimeout)
        let quiet = session.waitForQuiet(gap: 1, timeout: 3)

        // With nothing changing, for comparison: the header clock ticks every second.
        let idleStart = session.count
        Thread.sleep(forTimeInterval: Self.refreshWindow)
        let idleEnd = session.count
        let idleCells = ScreenWrites.decode(session.bytes(from: 0, to: idleEnd), from: idleStart)

        // One number: "events today" N becomes N+1. Received over an hour ago (when today is that old),
        // so that the one-hour throughput chart, its legend and its rate stay as they are.
        let now = Date()
        let midnight = now.startOfUTCDay
        let pastFirstHour = now.timeIntervalSince(midnight) > 65 * 60
        let receivedAt = pastFirstHour ? now.addingTimeInterval(-62 * 60) : now
        let before = try store.receivedCount(since: midnight)
        // The clock redraws just after each second: commit right after that redraw, so that the
        // refresh (within the 0.5 s poll and the loop's 0.1 s wait) lands before the next one.
        let wall = Date().timeIntervalSince1970
        Thread.sleep(forTimeInterval: wall.rounded(.up) - wall)
        _ = session.waitForWrite(after: session.count, timeout: 0.3)
        let offset = session.count
        let committedWall = Date().timeIntervalSince1970
        let committed = Monotonic.now()
        _ = try store.ingest(NewEvent(
            topic: "bench.refresh", sourceId: source.id, idempotencyKey: "dashboard-bench-\(UUID().uuidString)",
            payload: #"{"bench":"one number changed"}"#, receivedAt: receivedAt, targets: []))
        let nextSecond = committed + (committedWall.rounded(.up) - committedWall)
        Thread.sleep(forTimeInterval: max(0, committed + Self.refreshWindow - Monotonic.now()))
        let after = try store.receivedCount(since: midnight)
        let writes = session.writes(from: offset)
        let total = writes.reduce(0) { $0 + $1.bytes }
        // The refresh: what was written before the clock's next second.
        let refresh = writes.filter { $0.at < nextSecond }
        let refreshEnd = refresh.last?.end ?? offset
        let refreshBytes = refreshEnd - offset
        let refreshCells = ScreenWrites.decode(session.bytes(from: 0, to: refreshEnd), from: offset)
        let timeline = writes.map { "+\(Format.duration($0.at - committed)) \($0.bytes) B" }

        report.emit("\n  refresh where one number changed, on \(what), live (not read-only):")
        report.emit("    one event ingested from \(source.name) with no targets: events today \(Format.count(before)) → \(Format.count(after))"
            + (pastFirstHour ? " (received 62 min ago: the 1h throughput chart does not change)"
                     : " (received now, early in the UTC day: the throughput chart changes too)"))
        if !quiet { report.emit("    (output was never quiet for 1 s before the change)") }
        if let first = refresh.first,
           Int(launchedWall / 60) != Int((committedWall + first.at - committed) / 60) {
            report.emit("    (a minute turned between the launch's read and the refresh: the throughput chart moved with it)")
        }
        if refresh.isEmpty {
            report.emit("    the refresh was not written before the clock's next second: it cannot be told apart from the clock's redraw")
        } else {
            report.emit("    the refresh: \(Format.count(refreshBytes)) bytes, written +\(Format.duration(refresh[0].at - committed)) after the commit, "
                + refreshCells.cellCount + ": " + refreshCells.summary)
            report.emit("      bytes: " + session.escaped(from: offset, limit: 400, to: refreshEnd))
        }
        report.emit("    all reads of the pty in the \(Format.fixed(Self.refreshWindow, 0)) s after the commit: "
            + (timeline.isEmpty ? "none" : timeline.joined(separator: ", ")) + " (\(Format.count(total)) bytes)")
        report.emit("    \(Format.fixed(Self.refreshWindow, 0)) s with nothing changing: \(Format.count(idleEnd - idleStart)) bytes, "
            + idleCells.cellCount + ": " + idleCells.summary)
        report.record(Self.area, "refresh, one number changed",
                      (refresh.isEmpty ? "?" : "\(Format.count(refreshBytes)) B at +\(Format.duration(refresh[0].at - committed))")
                        + " (2 s: \(Format.count(total)) B; idle 2 s: \(Format.count(idleEnd - idleStart)) B)")
    }

    /// A copy of the large database when it is small enough to copy, else a small seeded one; and which.
    private func refreshDatabase(_ report: Report) throws -> (path: String, what: String) {
        let path = try BenchFiles.fresh("patchbay-bench-dashboard-refresh.sqlite", in: builder.directory)
        let size = BenchFiles.size(builder.path)
        let free = ((try? FileManager.default.attributesOfFileSystem(forPath: builder.directory))?[.systemFreeSize]
            as? NSNumber)?.int64Value ?? 0
        if size <= Self.copyLimit && free > 2 * size {
            report.progress("copying \(Format.bytes(size)) for the refresh figure")
            let (_, seconds) = try Monotonic.time {
                for suffix in ["", "-wal"] where BenchFiles.exists(builder.path + suffix) {
                    try FileManager.default.copyItem(atPath: builder.path + suffix, toPath: path + suffix)
                }
            }
            return (path, "a copy of the \(Format.count(builder.events))-event database (\(Format.bytes(size)), copied in \(Format.duration(seconds)))")
        }
        let events = 5000
        report.progress("seeding \(events) events for the refresh figure (the large database is too big to copy)")
        let store = try Store.open(at: path, mode: .create(homeCurrency: "EUR"))
        _ = try Seeder(options: .init(events: events, days: 7, seed: 7, now: Date())).run(on: store)
        _ = try InvoiceSeeder(seed: 7, now: Date(), invoices: 120, nights: 7).run(on: store)
        return (path, "a small seeded database (\(Format.count(events)) events; the \(Format.bytes(size)) one is too big to copy)")
    }

    // MARK: The binary

    static func binaryBeside(_ executable: String) -> String {
        URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("patchbay").path
    }

    /// `patchbay` in the build products directory this bench runs from.
    static func patchbayBinary() -> String? {
        let candidates = [binaryBeside(CommandLine.arguments[0]),
                          binaryBeside(URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path)]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// A child process on a pseudo-terminal of our own, its output read continuously on a thread (so the
/// child never blocks on a full pty) and kept with the time each read returned.
final class PtySession: @unchecked Sendable {
    let pid: pid_t
    let master: Int32
    /// Monotonic time just before the spawn.
    let started: Double
    private let lock = NSLock()
    private var output: [UInt8] = []
    /// Each read: where it ends in `output`, and when it returned.
    private var reads: [(end: Int, at: Double)] = []
    private var readerDone = false
    private let readerFinished = DispatchSemaphore(value: 0)
    private var exitStatus: Int32?
    private var ending: String?

    /// glibc's `POSIX_SPAWN_SETSID`, which Swift does not import: the child gets a session of its own.
    private static let spawnSetSID: Int32 = 0x80

    init(binary: String, arguments: [String], width: Int, height: Int) throws {
        var master: Int32 = -1
        var slave: Int32 = -1
        guard openpty(&master, &slave, nil, nil, nil) == 0 else { throw BenchError("openpty: " + Self.errnoText()) }
        var size = winsize(ws_row: UInt16(height), ws_col: UInt16(width), ws_xpixel: 0, ws_ypixel: 0)
        guard ioctl(master, UInt(TIOCSWINSZ), &size) == 0 else {
            close(master)
            close(slave)
            throw BenchError("TIOCSWINSZ: " + Self.errnoText())
        }
        _ = fcntl(master, F_SETFD, FD_CLOEXEC)

        var environment = ProcessInfo.processInfo.environment
        environment["TERM"] = "xterm-256color"
        // ncurses would take these over the pty's size.
        environment["LINES"] = nil
        environment["COLUMNS"] = nil
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for fd in Int32(0)...2 { posix_spawn_file_actions_adddup2(&actions, slave, fd) }
        posix_spawn_file_actions_addclose(&actions, slave)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(Self.spawnSetSID | Int32(POSIX_SPAWN_SETSIGMASK)))

        var pid: pid_t = 0
        let started = Monotonic.now()
        let result = posix_spawn(&pid, binary, &actions, &attributes, argv, envp)
        close(slave)
        guard result == 0 else {
            close(master)
            throw BenchError("cannot start \(binary): " + String(cString: strerror(result)))
        }
        self.pid = pid
        self.master = master
        self.started = started
        let reader = Thread { [self] in readLoop() }
        reader.name = "patchbay-bench pty reader"
        reader.start()
    }

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            // EIO once the child has exited and the last slave descriptor is closed.
            if count <= 0 { break }
            let now = Monotonic.now()
            lock.withLock {
                output.append(contentsOf: buffer[0..<count])
                reads.append((output.count, now))
            }
        }
        lock.withLock { readerDone = true }
        readerFinished.signal()
    }

    /// Bytes read so far.
    var count: Int { lock.withLock { output.count } }

    /// Waits for `marker` in the output after `offset`; returns when the read holding its end returned.
    func waitFor(_ marker: String, after offset: Int = 0, timeout: Double) throws -> Double {
        let needle = Array(marker.utf8)
        let deadline = Monotonic.now() + timeout
        var searched = offset  // only new bytes are searched on each poll
        while true {
            let found = lock.withLock { () -> Double? in
                if let end = Self.find(needle, in: output, from: searched) { return reads.first { $0.end >= end }?.at }
                searched = max(searched, output.count - needle.count + 1)
                return nil
            }
            if let found { return found }
            if let status = exited() {
                throw BenchError("patchbay exited (status \(status)) before writing \"\(marker)\"; it wrote: "
                    + escaped(from: max(0, count - 400), limit: 400))
            }
            if Monotonic.now() > deadline {
                throw BenchError("no \"\(marker)\" from patchbay after \(Format.duration(timeout)); it wrote: "
                    + escaped(from: max(0, count - 400), limit: 400))
            }
            usleep(1000)
        }
    }

    /// Waits for `marker`, then for the end of the burst of writes holding it (a pause of
    /// `DashboardBenchmark.frameGap`); returns when that burst's last read returned.
    func waitForFrame(containing marker: String, timeout: Double) throws -> Double {
        let at = try waitFor(marker, timeout: timeout)
        _ = waitForQuiet(gap: DashboardBenchmark.frameGap, timeout: timeout)
        return lock.withLock { () -> Double in
            var last = at
            for read in reads where read.at >= at {
                if read.at - last >= DashboardBenchmark.frameGap { break }
                last = read.at
            }
            return last
        }
    }

    /// Waits for output past `offset`, then for the end of that burst; false if none came in `timeout`.
    func waitForWrite(after offset: Int, timeout: Double) -> Bool {
        let deadline = Monotonic.now() + timeout
        while count <= offset {
            if Monotonic.now() > deadline { return false }
            usleep(1000)
        }
        return waitForQuiet(gap: DashboardBenchmark.frameGap, timeout: timeout)
    }

    /// Waits until nothing has been written for `gap` seconds; false if that did not happen in `timeout`.
    func waitForQuiet(gap: Double, timeout: Double) -> Bool {
        let deadline = Monotonic.now() + timeout
        while true {
            let last = lock.withLock { reads.last?.at } ?? started
            let now = Monotonic.now()
            if now - last >= gap { return true }
            if now > deadline { return false }
            usleep(UInt32(min(gap / 5, 0.01) * 1_000_000))
        }
    }

    /// Each read that ended past `offset`: when it returned, how many of its bytes lie past `offset`, where it ends.
    func writes(from offset: Int) -> [(at: Double, bytes: Int, end: Int)] {
        lock.withLock {
            var start = 0
            var result: [(at: Double, bytes: Int, end: Int)] = []
            for read in reads {
                if read.end > offset { result.append((read.at, read.end - max(start, offset), read.end)) }
                start = read.end
            }
            return result
        }
    }

    /// The output between two offsets.
    func bytes(from start: Int, to end: Int? = nil) -> [UInt8] {
        lock.withLock {
            let upper = min(end ?? output.count, output.count)
            return Array(output[min(start, upper)..<upper])
        }
    }

    /// The output from `offset`, escapes and controls made visible, at most `limit` characters.
    func escaped(from offset: Int, limit: Int, to end: Int? = nil) -> String {
        var text = ""
        for scalar in String(decoding: bytes(from: offset, to: end), as: UTF8.self).unicodeScalars {
            switch scalar.value {
            case 0x1B: text += "\\e"
            case 0x0D: text += "\\r"
            case 0x0A: text += "\\n"
            case 0..<0x20, 0x7F..<0xA0: text += String(format: "\\x%02X", scalar.value)
            default: text.unicodeScalars.append(scalar)
            }
            if text.count >= limit { return text + "…" }
        }
        return text.isEmpty ? "(nothing)" : text
    }

    /// utime + stime of the child, in clock ticks; nil once it has gone.
    func cpuTicks() -> Int? {
        guard exited() == nil,
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm)": field 3 (state) onwards; utime and stime are fields 14 and 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// The child's wait status once it has exited (reaped here), else nil.
    func exited() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid { exitStatus = status }
        return exitStatus
    }

    /// Quits the dashboard the way a person does ("q"), then SIGTERM, then SIGKILL; returns which
    /// ended it. Safe to call again.
    @discardableResult
    func stop() -> String {
        if let ending = lock.withLock({ ending }) { return ending }
        var how = "exited by itself"
        if exited() == nil {
            var quit: UInt8 = UInt8(ascii: "q")
            _ = write(master, &quit, 1)
            how = "q"
            if !waitForExit(3) {
                kill(pid, SIGTERM)
                how = "SIGTERM"
                if !waitForExit(3) {
                    kill(pid, SIGKILL)
                    how = "SIGKILL"
                    _ = waitForExit(10)
                }
            }
        }
        // The reader sees EIO once the child's side of the pty is gone; only then is the descriptor closed.
        if readerFinished.wait(timeout: .now() + 5) == .success { close(master) }
        lock.withLock { ending = how }
        return how
    }

    private func waitForExit(_ seconds: Double) -> Bool {
        let deadline = Monotonic.now() + seconds
        while exited() == nil {
            if Monotonic.now() > deadline { return false }
            usleep(5000)
        }
        return true
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from offset: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count else { return nil }
        var index = max(0, offset)
        while index + needle.count <= haystack.count {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) {
                return index + needle.count
            }
            index += 1
        }
        return nil
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// Which screen cells a stretch of terminal output writes: cursor moves (`CUP`, `VPA`, `CHA`, relative
/// moves, backspace, CR, LF), text, `REP` and erases, enough for what ncurses sends to an xterm.
struct ScreenWrites {
    /// Runs of cells written on one row: 1-based row and column, and the text.
    var runs: [(row: Int, column: Int, text: String)] = []
    var cells = 0

    /// Decodes all of `bytes` (the cursor is only known from the start of the output) and keeps the
    /// cells written by the bytes from `offset` on.
    static func decode(_ bytes: [UInt8], from offset: Int = 0) -> ScreenWrites {
        var result = ScreenWrites()
        var row = 0
        var column = 0
        var last: Character = " "
        var position = 0
        func put(_ character: Character) {
            defer { column += 1 }
            guard position >= offset else { return }
            result.cells += 1
            if let end = result.runs.last, end.row == row, end.column + end.text.count == column {
                result.runs[result.runs.count - 1].text.append(character)
            } else {
                result.runs.append((row, column, String(character)))
            }
        }
        // Each scalar with where its bytes start.
        var scalars: [Unicode.Scalar] = []
        var starts: [Int] = []
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var start = 0
        decoding: while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                scalars.append(Unicode.UTF8.decode(encoded))
                starts.append(start)
                start += encoded.count
            case .error(let length):
                scalars.append("\u{FFFD}")
                starts.append(start)
                start += length
            case .emptyInput:
                break decoding
            }
        }
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            position = starts[index]
            index += 1
            switch scalar.value {
            case 0x1B:
                guard index < scalars.count else { break }
                let kind = scalars[index]
                index += 1
                if kind == "[" {
                    var parameters = ""
                    while index < scalars.count, !(0x40...0x7E).contains(scalars[index].value) {
                        parameters.unicodeScalars.append(scalars[index])
                        index += 1
                    }
                    guard index < scalars.count else { break }
                    let final = scalars[index]
                    index += 1
                    let numbers = parameters.split(separator: ";", omittingEmptySubsequences: false).map { Int($0) }
                    let n = max(1, (numbers.first ?? nil) ?? 1)
                    switch final {
                    case "H", "f":
                        row = max(1, (numbers.first ?? nil) ?? 1)
                        column = max(1, (numbers.count > 1 ? numbers[1] : nil) ?? 1)
                    case "d": row = n
                    case "G", "`": column = n
                    case "A": row -= n
                    case "B": row += n
                    case "C": column += n
                    case "D": column -= n
                    case "b": for _ in 0..<n { put(last) }
                    case "X":
                        let start = column
                        for _ in 0..<n { put(" ") }
                        column = start
                    default: break  // colours and modes
                    }
                } else if kind == "(" || kind == ")" {
                    index += 1  // character set designation
                }
            case 0x08: column -= 1
            case 0x0D: column = 1
            case 0x0A: row += 1
            case 0..<0x20, 0x7F..<0xA0: break
            default:
                last = Character(scalar)
                put(last)
            }
        }
        return result
    }

    var cellCount: String { "\(cells) cell" + (cells == 1 ? "" : "s") }

    /// `row 1 col 103 "4"; row 48 col 27 "6"`, the first few runs.
    var summary: String {
        if runs.isEmpty { return "none" }
        let shown = runs.prefix(12).map { "row \($0.row) col \($0.column) \"\($0.text.count > 40 ? String($0.text.prefix(40)) + "…" : $0.text)\"" }
        return shown.joined(separator: "; ") + (runs.count > 12 ? "; and \(runs.count - 12) more runs" : "")
    }
}
