import Foundation
import Testing
@testable import PatchbayConnectors

/// The configuration's durations are the command line's and the dashboard's: one grammar
/// (`PatchbayValues.Durations`), each key keeping its own narrower range.
@Suite("Configuration durations")
struct ConfigDurationTests {
    private func parse(_ yaml: String) throws(ConfigError) -> HubConfig {
        try HubConfig.parse(yaml: yaml, file: "patchbay.yaml",
                            context: ModuleContext(environment: ["S": "x"], baseDirectory: URL(fileURLWithPath: "/etc/patchbay"),
                                                   transport: nil))
    }

    private static let connectors = """
        connectors:
          orders: {module: webhook, signature: github, secret: "${S}"}
        """

    @Test("weeks are read as on the command line: keep_delivered 2w, a schedule of every 1w")
    func weeks() throws {
        let config = try parse("""
            retention: {keep_delivered: 2w, every: 1h}
            \(Self.connectors)
            """)
        #expect(config.keepDelivered == 1_209_600)
        #expect(Schedule.parse("every 1w") == .every(604_800))
        #expect(OptionReader.parseDuration("1w") == 604_800)
        // A bare number is still seconds in this file, as it always was.
        #expect(OptionReader.parseDuration("90") == 90)
    }

    @Test("1e12d and other values beyond a key's range are problems with the key's range, never a crash")
    func outOfRange() {
        do {
            _ = try parse("""
                retention: {keep_delivered: 1e12d, every: 1e400s}
                delivery: {lease: nan}
                \(Self.connectors)
                """)
            Issue.record("the configuration was accepted")
        } catch {
            let messages = Dictionary(error.problems.map { ($0.path, $0.message) }, uniquingKeysWith: { $1 })
            #expect(messages["retention.keep_delivered"]
                    == "expected a duration like 250ms, 10s, 5m, 2h or 30d (from 1m to 3650d), found '1e12d'")
            #expect(messages["retention.every"]?.contains("found '1e400s'") == true)
            #expect(messages["delivery.lease"]?.contains("found 'nan'") == true)
        }
        #expect(Schedule.parse("every 1e12d") == nil)
        #expect(Schedule.parse("every 2y") == nil)
        for text in ["nan", "inf", "-1", "1e400", "0x10", "infs"] {
            #expect(OptionReader.parseDuration(text) == nil, "\(text)")
        }
    }
}
