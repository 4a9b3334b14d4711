import Foundation

/// Runs the built `patchbay` binary, as a user or a script would.
struct BinaryRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static let binary: URL = {
        // The test runner sits in the build products folder, beside the executables.
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [products, products.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("patchbay")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return products.appendingPathComponent("patchbay")
    }()

    static func run(_ arguments: [String], environment: [String: String] = [:], cwd: URL? = nil) throws -> Result {
        let process = try start(arguments, environment: environment, cwd: cwd)
        return process.finish()
    }

    /// The buffers are written by the reader threads and read only after `group.wait()`.
    final class Running: @unchecked Sendable {
        let process: Process
        let out: Pipe
        let err: Pipe
        private var outData = Data()
        private var errData = Data()
        private let group = DispatchGroup()

        init(process: Process, out: Pipe, err: Pipe) {
            self.process = process
            self.out = out
            self.err = err
            group.enter()
            DispatchQueue.global().async { [self] in
                outData = out.fileHandleForReading.readDataToEndOfFile()
                group.leave()
            }
            group.enter()
            DispatchQueue.global().async { [self] in
                errData = err.fileHandleForReading.readDataToEndOfFile()
                group.leave()
            }
        }

        func finish() -> Result {
            process.waitUntilExit()
            group.wait()
            return Result(status: process.terminationStatus,
                          stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errData, as: UTF8.self))
        }
    }

    /// Starts the binary (or `executable`, e.g. a shell or setpriv in front of it) with the test's
    /// environment less $PATCHBAY_DB.
    static func start(_ arguments: [String], environment: [String: String] = [:], cwd: URL? = nil,
                      executable: URL? = nil) throws -> Running {
        let process = Process()
        process.executableURL = executable ?? binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "PATCHBAY_DB")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let cwd { process.currentDirectoryURL = cwd }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Running(process: process, out: out, err: err)
    }
}

func jsonArray(_ text: String) throws -> [[String: Any]] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    guard let array = object as? [[String: Any]] else { throw CocoaError(.coderReadCorrupt) }
    return array
}
