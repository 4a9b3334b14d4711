import Foundation
import PatchbayHub
import PatchbayText

/// `exec`: pipes each delivery's payload to a command's standard input, for scripts and legacy tools.
///
/// The command runs without a shell (argv as configured), with `PATCHBAY_EVENT_ID`, `PATCHBAY_TOPIC`,
/// `PATCHBAY_DELIVERY_ID`, `PATCHBAY_ATTEMPT` and `PATCHBAY_IDEMPOTENCY_KEY` in its environment.
/// Exit 0 is delivered. Exit codes listed in `permanent_exit_codes` (default the sysexits for bad
/// input and bad configuration: 64, 65, 66, 78) are dead at once; any other failure retries. A
/// command that runs past `timeout` is sent SIGTERM, then SIGKILL two seconds later, and retries.
public struct ExecSink: Sink {
    public var command: [String]
    public var timeout: Duration
    public var permanentExitCodes: Set<Int32>
    public var transform: (any PayloadTransform)?
    public var workingDirectory: URL?

    public init(command: [String], timeout: Duration = .seconds(30), permanentExitCodes: Set<Int32> = [64, 65, 66, 78],
                transform: (any PayloadTransform)? = nil, workingDirectory: URL? = nil) {
        self.command = command
        self.timeout = timeout
        self.permanentExitCodes = permanentExitCodes
        self.transform = transform
        self.workingDirectory = workingDirectory
    }

    public func deliver(_ delivery: OutboundDelivery) async -> SinkResult {
        var payload = delivery.payload
        if let transform {
            do { payload = try transform.apply(topic: delivery.topic, payload: payload).payload } catch {
                return .permanentError("cannot map the payload for this command: \(error)")
            }
        }
        let environment = ProcessInfo.processInfo.environment.merging([
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
/// cooperative thread (the waiting happens on a dedicated thread).
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

    private static func runBlocking(_ argv: [String], input: [UInt8], environment: [String: String], directory: URL?,
                                    timeout: TimeInterval) -> Result {
        guard let executable = argv.first else { return .failedToStart("empty command") }
        let process = Process()
        if executable.contains("/") {
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = Array(argv.dropFirst())
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = argv
        }
        process.environment = environment
        if let directory { process.currentDirectoryURL = directory }
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        do { try process.run() } catch {
            return .failedToStart((error as NSError).localizedDescription)
        }
        let outBox = Captured(), errBox = Captured()
        let readers = DispatchGroup()
        for (pipe, box) in [(stdout, outBox), (stderr, errBox)] {
            readers.enter()
            Thread.detachNewThread {
                box.drain(pipe.fileHandleForReading, limit: 64 * 1024)
                readers.leave()
            }
        }
        Thread.detachNewThread {
            // A command that does not read its input must not block us: writes fail with EPIPE, ignored.
            signal(SIGPIPE, SIG_IGN)
            try? stdin.fileHandleForWriting.write(contentsOf: Data(input))
            try? stdin.fileHandleForWriting.close()
        }
        var timedOut = false
        if done.wait(timeout: .now() + timeout) == .timedOut {
            timedOut = true
            process.terminate()
            if done.wait(timeout: .now() + 2) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                // Bounded: on Linux the exit is only reported once every descendant that inherited the
                // child's descriptors has exited too, and a background grandchild may never exit.
                _ = done.wait(timeout: .now() + 2)
            }
        }
        _ = readers.wait(timeout: .now() + 2)
        if timedOut { return .timedOut(stderr: errBox.bytes) }
        if process.terminationReason == .uncaughtSignal {
            return .signalled(process.terminationStatus, stderr: errBox.bytes)
        }
        return .exited(process.terminationStatus, stdout: outBox.bytes, stderr: errBox.bytes)
    }

    /// Output kept up to a limit; the rest is read and dropped so the child never blocks on a full pipe.
    final class Captured: @unchecked Sendable {
        private let lock = NSLock()
        private var data: [UInt8] = []
        var bytes: [UInt8] { lock.withLock { data } }

        func drain(_ handle: FileHandle, limit: Int) {
            while let chunk = try? handle.read(upToCount: 16 * 1024), !chunk.isEmpty {
                lock.withLock { if data.count < limit { data += chunk.prefix(limit - data.count) } }
            }
        }
    }
}
