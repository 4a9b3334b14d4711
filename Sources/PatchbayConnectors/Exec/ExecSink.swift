import Foundation
import PatchbayHub
import PatchbayText

/// `exec`: pipes each delivery's payload to a command's standard input, for scripts and legacy tools.
///
/// The command runs without a shell (argv as configured), with `PATCHBAY_EVENT_ID`, `PATCHBAY_TOPIC`,
/// `PATCHBAY_DELIVERY_ID`, `PATCHBAY_ATTEMPT` and `PATCHBAY_IDEMPOTENCY_KEY` in its environment.
/// That environment is built, never inherited: `PATH`, `HOME`, `LANG`, `LC_ALL` and `TZ` from the
/// hub's, plus the connector's own `env:` map. The hub's environment holds every secret the whole
/// configuration references; a script gets only what its connector names. No descriptor of the hub
/// beyond 0–2 reaches the child either (the webhook socket among them: a child that outlives a
/// killed hub must not keep its port).
/// Exit 0 is delivered. Exit codes listed in `permanent_exit_codes` (default the sysexits for bad
/// input and bad configuration: 64, 65, 66, 78) are dead at once; any other failure retries. A
/// command that runs past `timeout` is sent SIGTERM, then SIGKILL two seconds later, and retries.
public struct ExecSink: Sink {
    public var command: [String]
    public var timeout: Duration
    public var permanentExitCodes: Set<Int32>
    public var transform: (any PayloadTransform)?
    public var workingDirectory: URL?
    /// The child's whole environment before the delivery's own `PATCHBAY_*` variables.
    public var environment: [String: String]
    /// Values of the `env:` map that came from secret references: redacted from stored errors.
    public var secrets: [String]

    /// The variables passed on from the hub's environment when present.
    public static let inheritedVariables = ["PATH", "HOME", "LANG", "LC_ALL", "TZ"]

    /// `environment` defaults to the allow-listed variables of this process's environment.
    public init(command: [String], timeout: Duration = .seconds(30), permanentExitCodes: Set<Int32> = [64, 65, 66, 78],
                transform: (any PayloadTransform)? = nil, workingDirectory: URL? = nil,
                environment: [String: String]? = nil, secrets: [String] = []) {
        self.command = command
        self.timeout = timeout
        self.permanentExitCodes = permanentExitCodes
        self.transform = transform
        self.workingDirectory = workingDirectory
        self.environment = environment ?? Self.baseEnvironment(from: ProcessInfo.processInfo.environment)
        self.secrets = secrets
    }

    /// The allow-listed part of `environment`, with a default `PATH` when it has none.
    public static func baseEnvironment(from environment: [String: String]) -> [String: String] {
        var base = environment.filter { inheritedVariables.contains($0.key) }
        if base["PATH"] == nil { base["PATH"] = "/usr/local/bin:/usr/bin:/bin" }
        return base
    }

    public func deliver(_ delivery: OutboundDelivery) async -> SinkResult {
        var payload = delivery.payload
        if let transform {
            do { payload = try transform.apply(topic: delivery.topic, payload: payload).payload } catch {
                return .permanentError("cannot map the payload for this command: \(error)")
            }
        }
        let environment = self.environment.merging([
            "PATCHBAY_EVENT_ID": String(delivery.eventId), "PATCHBAY_DELIVERY_ID": String(delivery.deliveryId),
            "PATCHBAY_TOPIC": delivery.topic, "PATCHBAY_ATTEMPT": String(delivery.attempt),
            "PATCHBAY_IDEMPOTENCY_KEY": delivery.idempotencyKey,
        ], uniquingKeysWith: { _, new in new })
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        let result = await ChildProcess.run(command, input: Array(payload.utf8), environment: environment,
                                            directory: workingDirectory, timeout: seconds)
        let name = (command.first as NSString?)?.lastPathComponent ?? "command"
        switch result {
        case .failedToStart(let message):
            return .permanentError("cannot run \(name): \(message)")
        case .timedOut(let stderr):
            return .transientError("\(name) ran past its \(OptionReader.format(seconds)) timeout and was stopped" + Self.tail(stderr))
        case .exited(let code, let stdout, let stderr):
            if code == 0 { return .success(status: nil, excerpt: HTTPSink.excerpt(stdout, limit: 512)) }
            let message = "\(name) exited with status \(code)" + Self.tail(stderr)
            return permanentExitCodes.contains(code) ? .permanentError(message) : .transientError(message)
        case .signalled(let signal, let stderr):
            return .transientError("\(name) was killed by signal \(signal)" + Self.tail(stderr))
        }
    }

    static func tail(_ stderr: [UInt8]) -> String {
        let text = String(decoding: stderr.suffix(400), as: UTF8.self)
        let line = text.split(whereSeparator: \.isNewline).last.map(String.init) ?? ""
        let safe = SafeText.line(line).trimmingCharacters(in: .whitespaces)
        return safe.isEmpty ? "" : ": \(safe)"
    }
}

/// Runs a child process with input, bounded output capture and a timeout, without blocking a
/// cooperative thread (the waiting happens on dedicated threads).
///
/// `posix_spawn`, not Foundation's `Process`: the child gets an empty signal mask and default
/// dispositions (a hub thread may block SIGTERM or ignore SIGPIPE; a script must not inherit
/// that), and its own process group, so a timeout stops the command *and everything it started*
/// (`sh -c "sleep 5"` included) instead of waiting for an orphan that holds the pipes open.
enum ChildProcess {
    enum Result: Sendable {
        case exited(Int32, stdout: [UInt8], stderr: [UInt8])
        case signalled(Int32, stderr: [UInt8])
        case timedOut(stderr: [UInt8])
        case failedToStart(String)
    }

    static func run(_ argv: [String], input: [UInt8], environment: [String: String], directory: URL?,
                    timeout: TimeInterval) async -> Result {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(returning: runBlocking(argv, input: input, environment: environment,
                                                           directory: directory, timeout: timeout))
            }
        }
    }

    static func runBlocking(_ command: [String], input: [UInt8], environment: [String: String], directory: URL?,
                                    timeout: TimeInterval) -> Result {
        guard let first = command.first, !first.isEmpty else { return .failedToStart("empty command") }
        if let directory, !FileManager.default.fileExists(atPath: directory.path) {
            return .failedToStart("directory \(directory.path) does not exist")
        }
        if !first.contains("/"), !(environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":")
            .contains(where: { FileManager.default.isExecutableFile(atPath: "\($0)/\(first)") }) {
            return .failedToStart("\(first) was not found in PATH")
        }
        // The working directory through a tiny shell step (posix_spawn's chdir action is not
        // portable); `exec` leaves the command itself as the process the timeout stops.
        let argv = directory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0.path] + command } ?? command
        let program = argv[0]
        var resolved = program
        if !program.contains("/") {
            let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
            guard let found = path.split(separator: ":").map({ "\($0)/\(program)" })
                .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
                return .failedToStart("\(program) was not found in PATH")
            }
            resolved = found
        } else if !FileManager.default.isExecutableFile(atPath: program) {
            return .failedToStart("\(program) does not exist or is not executable")
        }
        var stdinPipe: [Int32] = [0, 0], stdoutPipe: [Int32] = [0, 0], stderrPipe: [Int32] = [0, 0]
        // Close-on-exec: another command spawned at the same moment must not inherit our pipe ends,
        // or this command would never see the end of its input and we never the end of its output.
        // (pipe2 is not portable: pipe, then FD_CLOEXEC, with every spawn of this process serialised
        // so no other spawn can slip between the two.)
        spawnLock.lock()
        var spawnLocked = true
        defer { if spawnLocked { spawnLock.unlock() } }
        guard pipe(&stdinPipe) == 0, pipe(&stdoutPipe) == 0, pipe(&stderrPipe) == 0 else {
            return .failedToStart("cannot create pipes: \(String(cString: strerror(errno)))")
        }
        for fd in stdinPipe + stdoutPipe + stderrPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)
        // Every other descriptor closes in the child, whether or not whoever opened it asked for
        // close-on-exec (NIO's listening socket, SQLite's files, a library's pipe).
        if let closeFrom = Self.addCloseFrom {
            _ = closeFrom(&actions, 3)
        } else {
            for fd in Self.openDescriptors() where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        var spawnedPid: pid_t = 0
        let spawned = posix_spawn(&spawnedPid, resolved, &actions, &attributes, cArgs, cEnv)
        let pid = spawnedPid
        spawnLock.unlock()
        spawnLocked = false
        close(stdinPipe[0]); close(stdoutPipe[1]); close(stderrPipe[1])
        guard spawned == 0 else {
            close(stdinPipe[1]); close(stdoutPipe[0]); close(stderrPipe[0])
            return .failedToStart(String(cString: strerror(spawned)))
        }
        let outBox = Captured(), errBox = Captured()
        let readers = DispatchGroup()
        for (fd, box) in [(stdoutPipe[0], outBox), (stderrPipe[0], errBox)] {
            readers.enter()
            Thread.detachNewThread {
                box.drain(fd, limit: 64 * 1024)
                close(fd)
                readers.leave()
            }
        }
        let writerFD = stdinPipe[1]
        _ = ignoreBrokenPipes
        Thread.detachNewThread {
            // A command that does not read its input: the write fails with EPIPE and is ignored.
            var offset = 0
            while offset < input.count {
                let n = input[offset...].withUnsafeBytes { write(writerFD, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue }; break }
                offset += n
            }
            close(writerFD)
        }
        let exited = DispatchSemaphore(value: 0)
        let status = StatusBox()
        Thread.detachNewThread {
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
            status.value = raw
            exited.signal()
        }
        var timedOut = false
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            kill(-pid, SIGTERM)
            if exited.wait(timeout: .now() + 2) == .timedOut {
                kill(-pid, SIGKILL)
                exited.wait()
            }
            // Whatever the command started goes with it, so nothing holds the pipes open.
            kill(-pid, SIGKILL)
        }
        _ = readers.wait(timeout: .now() + 2)
        if timedOut { return .timedOut(stderr: errBox.bytes) }
        let raw = status.value
        if raw & 0x7f == 0 { return .exited((raw >> 8) & 0xff, stdout: outBox.bytes, stderr: errBox.bytes) }
        return .signalled(raw & 0x7f, stderr: errBox.bytes)
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's Glibc
    /// module does not declare; nil on an older C library.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            return nil
        }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self)
    }()

    /// This process's open descriptors (the fallback when closefrom is not there), read under
    /// `spawnLock`, so no spawn of ours races the listing.
    static func openDescriptors() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap { Int32($0) }.sorted()
    }

    /// Writing to a command that exited must be an EPIPE error, not a signal that kills the hub.
    /// (Children get the default disposition back: see `posix_spawnattr_setsigdefault` above.)
    private static let ignoreBrokenPipes: Void = { signal(SIGPIPE, SIG_IGN) }()
    private static let spawnLock = NSLock()

    final class StatusBox: @unchecked Sendable {
        private let lock = NSLock()
        private var raw: Int32 = 0
        var value: Int32 {
            get { lock.withLock { raw } }
            set { lock.withLock { raw = newValue } }
        }
    }

    /// Output kept up to a limit; the rest is read and dropped so the child never blocks on a full pipe.
    final class Captured: @unchecked Sendable {
        private let lock = NSLock()
        private var data: [UInt8] = []
        var bytes: [UInt8] { lock.withLock { data } }

        func drain(_ fd: Int32, limit: Int) {
            var buffer = [UInt8](repeating: 0, count: 16 * 1024)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue }; return }
                if n == 0 { return }
                lock.withLock { if data.count < limit { data += buffer[0..<min(n, limit - data.count)] } }
            }
        }
    }
}
