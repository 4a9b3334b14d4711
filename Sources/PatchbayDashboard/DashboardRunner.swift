import Foundation
import PatchbayPostgres
import PatchbayStore
import Synchronization
import TerminalUI

/// Runs work on one background queue and keeps the results until the drawing loop collects them,
/// so database reads never block drawing or keys.
public final class BackgroundExecutor: WorkExecutor, @unchecked Sendable {
    private let queue = DispatchQueue(label: "patchbay.dashboard.reads")
    private let lock = NSLock()
    private var mailbox: [DashboardMessage] = []

    public init() {}

    public func submit(_ work: @escaping @Sendable () -> DashboardMessage) {
        queue.async { [self] in
            let message = work()
            lock.lock()
            mailbox.append(message)
            lock.unlock()
        }
    }

    /// Messages that arrived since the last call, oldest first.
    public func collect() -> [DashboardMessage] {
        lock.lock()
        defer { lock.unlock() }
        let messages = mailbox
        mailbox.removeAll()
        return messages
    }
}

/// Set by SIGTERM/SIGHUP; the loop restores the terminal and exits.
let terminationRequested = Atomic<Bool>(false)

/// The dashboard on a real terminal: the drawing loop, live updates and clean exits.
public enum DashboardRunner {
    public struct Options: Sendable {
        public var databasePath: String
        public var readOnly: Bool
        public var theme: String?
        /// How often the change watcher polls `PRAGMA data_version`.
        public var pollInterval: TimeInterval
        /// Batch jobs' next runs, from the hub's configuration (see `Dashboard.nextRun`).
        public var nextRun: (@Sendable (String, Int64?, Date) -> (schedule: String, next: Date?)?)?

        public init(databasePath: String, readOnly: Bool = false, theme: String? = nil, pollInterval: TimeInterval = 0.5) {
            self.databasePath = databasePath
            self.readOnly = readOnly
            self.theme = theme
            self.pollInterval = pollInterval
        }
    }

    /// Opens the database (before touching the terminal, so errors print normally), then runs until `q`.
    public static func run(_ options: Options) throws {
        let store: any DashboardBacking
        let watcher: any ChangePolling
        let shownPath: String
        if PostgresLocation.isPostgres(options.databasePath) {
            // PostgreSQL: redrawn on NOTIFY (FeedPoller), and named without the URL's password.
            let postgres = try PostgresStore.open(try PostgresLocation(url: options.databasePath),
                                                  mode: options.readOnly ? .readOnly : .existing, maxConnections: 4)
            store = postgres
            watcher = try FeedPoller(feed: postgres)
            shownPath = postgres.path
        } else {
            store = try Store.open(at: options.databasePath, mode: options.readOnly ? .readOnly : .existing)
            watcher = try ChangeWatcher(path: options.databasePath)
            shownPath = options.databasePath
        }
        let (theme, themeError) = Theme.resolve(options.theme)
        let executor = BackgroundExecutor()
        let dashboard = Dashboard(reader: store, actor: options.readOnly ? nil : store, executor: executor,
                                  databasePath: shownPath, theme: theme)
        dashboard.nextRun = options.nextRun
        let environment = ProcessInfo.processInfo.environment
        let backend = CursesBackend(noColor: environment["NO_COLOR"].map { !$0.isEmpty } ?? false)
        if backend.colorDepth == .monochrome && themeError == nil { dashboard.theme = .mono }
        signal(SIGTERM) { _ in terminationRequested.store(true, ordering: .relaxed) }
        signal(SIGHUP) { _ in terminationRequested.store(true, ordering: .relaxed) }
        signal(SIGINT) { _ in terminationRequested.store(true, ordering: .relaxed) }
        defer { backend.restore() }
        dashboard.setThemeWarning(themeError?.description)
        loop(dashboard: dashboard, backend: backend, executor: executor, watcher: watcher, poll: options.pollInterval)
    }

    static func loop(dashboard: Dashboard, backend: CursesBackend, executor: BackgroundExecutor,
                     watcher: any ChangePolling, poll: TimeInterval) {
        dashboard.tick(now: Date())
        dashboard.reload()
        // The first frame should show data, not empty panels: give the first read a quarter of a
        // second before drawing anyway (a huge or busy database still gets a frame on time).
        let firstFrameDeadline = Date().addingTimeInterval(0.25)
        while dashboard.state.overview == nil && dashboard.state.loadError == nil && Date() < firstFrameDeadline {
            for message in executor.collect() { dashboard.receive(message) }
            if dashboard.state.overview == nil { usleep(5_000) }
        }
        var dirty = true
        var lastPoll = Date.distantPast
        var lastSecond = Int(Date().timeIntervalSince1970)
        let pollInFlight = Atomic<Bool>(false)
        let changed = Atomic<Bool>(false)
        let pollQueue = DispatchQueue(label: "patchbay.dashboard.watch")
        // Free space where the database lives, read beside the change poll: when the disk fills, no
        // process can write, so there is no database change to notice; the filesystem tells.
        let diskReading = Mutex<DiskSpace??>(nil)
        // A PostgreSQL server's disk is not this machine's to read.
        let databasePath = PostgresLocation.isPostgres(dashboard.state.databasePath) ? nil : dashboard.state.databasePath
        if let databasePath { dashboard.updateDisk(DiskSpace.of(databasePath: databasePath)) }
        while !dashboard.shouldQuit && !terminationRequested.load(ordering: .relaxed) {
            if dirty {
                backend.draw(dashboard.render(size: backend.size))
                dirty = false
            }
            // Wait for a key for up to 100 ms: idle, this wakes ten times a second and draws nothing.
            if let event = backend.nextEvent(timeoutMilliseconds: 100) {
                dashboard.handle(event)
                dirty = true
                // Drain keys typed ahead before drawing again.
                while let more = backend.nextEvent(timeoutMilliseconds: 0) { dashboard.handle(more) }
            }
            for message in executor.collect() {
                dashboard.receive(message)
                dirty = true
            }
            let now = Date()
            if Int(now.timeIntervalSince1970) != lastSecond {
                lastSecond = Int(now.timeIntervalSince1970)
                dashboard.tick(now: now)
                dirty = true  // the clock; ncurses sends only the changed digits
            }
            if now.timeIntervalSince(lastPoll) >= poll && !pollInFlight.load(ordering: .relaxed) {
                lastPoll = now
                pollInFlight.store(true, ordering: .relaxed)
                pollQueue.async {
                    if (try? watcher.poll()) == true { changed.store(true, ordering: .relaxed) }
                    if let databasePath {
                        let disk = DiskSpace.of(databasePath: databasePath)
                        diskReading.withLock { $0 = .some(disk) }
                    }
                    pollInFlight.store(false, ordering: .relaxed)
                }
            }
            if let disk = diskReading.withLock({ reading in defer { reading = nil }; return reading }),
               dashboard.updateDisk(disk) {
                dirty = true
            }
            if changed.exchange(false, ordering: .relaxed) && dashboard.state.live {
                dashboard.tick(now: now)
                dashboard.reload()
            }
        }
    }
}

/// What the live loop asks between frames: did anything change since the last question?
protocol ChangePolling: Sendable {
    func poll() throws -> Bool
}

extension ChangeWatcher: ChangePolling {}

/// The change feed (PostgreSQL's LISTEN/NOTIFY) as answers to `poll()`: a notification raises a
/// flag, and a poll reads and lowers it, so the loop asks no database while nothing happens. A
/// writer announces at most one write per 200 ms, so each notice is answered twice: now, and once
/// more half a second later, for what the writer's throttle left unannounced.
final class FeedPoller: ChangePolling {
    private let state = Mutex<(changed: Bool, again: Date?)>((true, nil))
    private let subscription = Mutex<(any ChangeSubscription)?>(nil)

    init(feed: any ChangeFeed) throws {
        let subscription = try feed.watchChanges { [weak self] _ in
            self?.state.withLock { $0 = (true, Date().addingTimeInterval(0.5)) }
        }
        self.subscription.withLock { $0 = subscription }
    }

    func poll() throws -> Bool {
        state.withLock { state in
            if state.changed {
                state.changed = false
                return true
            }
            if let again = state.again, Date() >= again {
                state.again = nil
                return true
            }
            return false
        }
    }

    deinit { subscription.withLock { $0?.cancel() } }
}
