import Foundation
import PatchbayConnectors
import Testing
import TestSupport

/// Inputs the configuration fuzzer found: each crashed or exhausted `patchbay check`; each is now
/// a precise problem.
@Suite("Configuration limits")
struct ConfigLimitsTests {
    func problems(_ yaml: String) -> [ConfigProblem] {
        do {
            _ = try HubConfig.parse(yaml: yaml, file: "test.yaml", context: ModuleContext(
                environment: [:], baseDirectory: URL(fileURLWithPath: "/tmp"), transport: nil))
            return []
        } catch {
            return error.problems
        }
    }

    @Test("an alias bomb is refused before it is expanded")
    func aliasBomb() throws {
        let yaml = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("Fuzz/Corpus/FuzzConfig/regression-alias-bomb.yaml"),
                              encoding: .utf8)
        let found = problems(yaml)
        #expect(found.count == 1)
        #expect(found.first?.message.contains("expands to more than") == true, "\(found)")
    }

    @Test("a schedule beyond a year, or an infinite one, is a problem, not a crash")
    func hugeSchedules() {
        for schedule in ["every 1e19s", "every 1e305d", "every 400d"] {
            let found = problems("""
                connectors:
                  ar: {module: quickbooks-csv, path: ar.csv, schedule: "\(schedule)"}
                """)
            #expect(found.map(\.path) == ["connectors.ar.schedule"], "\(schedule): \(found)")
        }
        #expect(problems("connectors:\n  ar: {module: quickbooks-csv, path: ar.csv, schedule: every 366d}\n").isEmpty)
    }

    @Test("a rate limit slower than one a day, or absurdly fast, is a problem")
    func absurdRates() {
        for rate in ["1e-7/h", "0.5/d", "1e9/s", "inf/s"] {
            let found = problems("""
                connectors:
                  events: {module: webhook, signature: none}
                  sink: {module: file, directory: out, from: [events], rate_limit: "\(rate)"}
                """)
            #expect(found.map(\.path) == ["connectors.sink.rate_limit"], "\(rate): \(found)")
        }
    }
}
