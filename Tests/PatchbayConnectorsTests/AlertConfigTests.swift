import Foundation
import PatchbayHub
import Testing
@testable import PatchbayConnectors

/// `alerts:` in patchbay.yaml: each kind's options read, and each mistake refused with its key path.
@Suite("Config: alerts")
struct AlertConfigTests {
    static let env = ["SHOP_SECRET": "s", "XERO_TOKEN": "t", "SLACK_URL": "https://hooks.slack.com/services/T0/B0/x"]

    static func yaml(_ rules: String) -> String {
        """
        alerts:
          notify: [oncall]
          rules:
        \(rules)
        connectors:
          oncall: {module: slack, url: "${SLACK_URL}"}
          shop: {module: webhook, signature: shopify, secret: "${SHOP_SECRET}", transform: shopify-order}
          xero:
            module: xero
            url: https://api.xero.com/api.xro/2.0/Invoices
            from: [shop]
            headers: {Authorization: "Bearer ${XERO_TOKEN}"}
          erp: {module: http, url: "https://erp.example.com/orders", from: [shop]}
          xero-ar:
            module: xero-invoices-pull
            headers: {Authorization: "Bearer ${XERO_TOKEN}", Xero-Tenant-Id: tenant-1}
            schedule: hourly
        """
    }

    static func parse(_ yaml: String) throws(ConfigError) -> HubConfig {
        try HubConfig.parse(yaml: yaml, file: "patchbay.yaml",
                            context: ModuleContext(environment: env, baseDirectory: URL(fileURLWithPath: "/etc/patchbay"), transport: nil))
    }

    static func problems(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
        do {
            _ = try parse(yaml)
            Issue.record("the configuration was accepted", sourceLocation: sourceLocation)
            return []
        } catch {
            return error.problems.map { "\($0.path): \($0.message)" }
        }
    }

    @Test("quota_low reads a share of the day's limit or a count of calls, on the xero sink and the Xero pull")
    func quotaLowRead() throws {
        let config = try Self.parse(Self.yaml("""
                xero-quota: {kind: quota_low, connector: xero, below: 5%}
                pull-quota: {kind: quota_low, connector: xero-ar, below: 250}
                any-quota: {kind: quota_low}
            """))
        let rules = Dictionary(uniqueKeysWithValues: config.alerts.rules.map { ($0.name, $0) })
        #expect(rules["xero-quota"]?.threshold == 0.05 && rules["xero-quota"]?.minimum == 0)
        #expect(rules["pull-quota"]?.minimum == 250 && rules["pull-quota"]?.connector == "xero-ar")
        #expect(rules["any-quota"]?.threshold == 0.1 && rules["any-quota"]?.connector == nil)
        #expect(rules["any-quota"]?.notify == ["oncall"])
    }

    @Test("quota_low on a connector that reads no quota, or with a below that is neither a share nor a count, is refused with its key")
    func quotaLowRefused() {
        let wrongConnector = Self.problems(Self.yaml("""
                erp-quota: {kind: quota_low, connector: erp}
            """))
        #expect(wrongConnector.contains { $0.contains("connector") && $0.contains("'erp' reads no API quota") }, "\(wrongConnector)")
        for below in ["0%", "100%", "lots", "-5", "0"] {
            let bad = Self.problems(Self.yaml("""
                    xero-quota: {kind: quota_low, connector: xero, below: "\(below)"}
                """))
            #expect(bad.contains { $0.contains("below") && $0.contains("expected a share of the day's limit like 10%") }, "\(below): \(bad)")
        }
    }

    @Test("the other kinds: a connector of the wrong role, an unknown one, and a rule without a channel are refused")
    func otherKindsRefused() {
        let role = Self.problems(Self.yaml("""
                shop-dead: {kind: dead_letters, connector: shop}
            """))
        #expect(role.contains { $0.contains("'shop' is a source connector; dead_letters watches sinks") }, "\(role)")
        let unknown = Self.problems(Self.yaml("""
                ghost: {kind: connector_failing, connector: ghost}
            """))
        #expect(unknown.contains { $0.contains("'ghost' is not a connector of this file") }, "\(unknown)")
        let noChannel = Self.problems(Self.yaml("""
                quiet: {kind: source_quiet, connector: shop, notify: []}
            """).replacingOccurrences(of: "  notify: [oncall]\n", with: ""))
        #expect(noChannel.contains { $0.contains("no channel") }, "\(noChannel)")
    }
}
