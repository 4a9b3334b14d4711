// libFuzzer target: `HubConfig.parse(yaml:file:context:)`, with an empty environment.
//
// The input is the file's text (UTF-8 with replacement, as `HubConfig.load` refuses other bytes before
// parsing). It must return or throw `ConfigError` (the signature allows nothing else), never trap.
// Checked besides: a refusal names this file and has at least one problem, each with a message and a
// line within the file (or none); an accepted file has connectors with distinct names, a listen port
// in range, a body limit of at most 4 MiB and a lease longer than every sink's timeout plus 1 s.
import Foundation
import FuzzSupport
import PatchbayConnectors

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        FileHandle.standardError.write(Data("FuzzConfig: \(message())\n".utf8))
        abort()
    }
}

// Relative paths resolve here; parsing never reads or writes files (only running a job does).
private let context = ModuleContext(environment: [:], baseDirectory: URL(fileURLWithPath: "/nonexistent/patchbay-fuzz"),
                                    transport: nil)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    // Lines as Yams counts them, generously: any of LF, CR, NEL, LS, PS may end one.
    let lines = 1 + text.unicodeScalars.filter { ["\n", "\r", "\u{85}", "\u{2028}", "\u{2029}"].contains($0) }.count
    do {
        let config = try HubConfig.parse(yaml: text, file: "fuzz.yaml", context: context)
        check(!config.connectors.isEmpty, "accepted a file with no connector")
        check(Set(config.connectors.map(\.name)).count == config.connectors.count, "two connectors share a name")
        check((0...65535).contains(config.port), "port \(config.port)")
        check(config.maxBodyBytes >= 1 && config.maxBodyBytes <= 4 << 20, "max_body \(config.maxBodyBytes)")
        for connector in config.connectors {
            if case .sink(let sink) = connector.built {
                let timeout = Double(sink.timeout.components.seconds) + Double(sink.timeout.components.attoseconds) / 1e18
                check(config.lease > timeout + 1, "lease \(config.lease) not above \(connector.name)'s timeout \(timeout) + 1")
            }
            if connector.role == .source { check(connector.path?.hasPrefix("/") == true, "source without a path") }
            // What `patchbay check` prints and the scheduler computes from an accepted schedule.
            if let schedule = connector.schedule {
                _ = schedule.description
                _ = schedule.next(after: nil, now: Date(timeIntervalSince1970: 1_795_611_248))
                _ = schedule.next(after: Date(timeIntervalSince1970: 1_795_600_000), now: Date(timeIntervalSince1970: 1_795_611_248))
            }
            // The delivery worker sleeps (1 - tokens) / rate seconds for the next token, in UInt64
            // nanoseconds (PatchbayRuntime, Signals.swift): an accepted rate must keep that in range.
            if let limit = connector.rateLimit {
                check(limit.perSecond > 0 && limit.perSecond.isFinite && limit.burst >= 1, "rate limit \(limit)")
                check(1 / limit.perSecond * 1e9 < Double(UInt64.max),
                      "rate_limit of \(limit.perSecond)/s accepted: the wait for the next token overflows UInt64 nanoseconds")
            }
        }
        _ = config.targets(topic: "order_created", from: config.connectors[0].name)
    } catch {
        check(error.file == "fuzz.yaml", "ConfigError names file '\(error.file)'")
        check(!error.problems.isEmpty, "ConfigError with no problem")
        for problem in error.problems {
            check(!problem.message.isEmpty, "a problem without a message at \(problem.path)")
            if let line = problem.line {
                // libyaml puts an error at the end of the input on the line after the last one.
                check(line >= 1 && line <= lines + 1, "problem on line \(line) of a \(lines)-line file: \(problem)")
            }
        }
        _ = error.description
    }
    return 0
}

// MARK: - Entry point

// The `main` SwiftPM links this executable with (`--defsym main=FuzzConfig_main`): see FuzzSupport.
@_cdecl("FuzzConfig_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv)
}
