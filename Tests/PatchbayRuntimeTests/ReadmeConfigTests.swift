import Foundation
import PatchbayConnectors
import Testing
import TestSupport

/// The configuration README.md documents is a configuration `check` accepts.
@Suite("README configuration")
struct ReadmeConfigTests {
    static func yamlBlocks() throws -> [String] {
        let readme = try String(contentsOf: Fixtures.projectRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var blocks: [String] = []
        var current: [String]?
        for line in readme.components(separatedBy: "\n") {
            if line.hasPrefix("```yaml") { current = [] } else if line.hasPrefix("```"), let lines = current {
                blocks.append(lines.joined(separator: "\n"))
                current = nil
            } else if current != nil { current!.append(line) }
        }
        return blocks
    }

    static let environment = [
        "SHOPIFY_WEBHOOK_SECRET": "s", "XERO_ACCESS_TOKEN": "t", "XERO_TENANT_ID": "tenant", "GITHUB_WEBHOOK_SECRET": "g",
        "STRIPE_SECRET": "whsec_a", "STRIPE_SECRET_PREVIOUS": "whsec_b", "STOREFRONT_SECRET": "whsec_c2VjcmV0",
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/X0", "WEBHOOK_SECRET": "whsec_c2VjcmV0",
        "XERO_CLIENT_ID": "client", "XERO_CLIENT_SECRET": "secret", "XERO_REFRESH_TOKEN": "refresh",
        "QBO_ACCESS_TOKEN": "t", "QBO_REALM_ID": "123146096291789", "QBO_CLIENT_ID": "qbo-client", "QBO_CLIENT_SECRET": "qbo-secret",
    ]

    @Test("the full example, with every module example added to it, passes check")
    func documentedConfigurationIsValid() throws {
        let blocks = try Self.yamlBlocks()
        #expect(blocks.count >= 2)
        let full = blocks[0] + "\n" + blocks.dropFirst().joined(separator: "\n")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = try HubConfig.parse(yaml: full, file: "README.md", context: ModuleContext(
            environment: Self.environment, baseDirectory: directory.url, transport: nil))
        let modules = Set(config.connectors.map(\.module))
        // Every built-in module has an example.
        #expect(modules == Set(ConnectorRegistry.builtIn.names).subtracting(["xero-csv"]))
        #expect(config.connector(named: "xero-invoices")?.receives(topic: "order_created", from: "shopify-orders") == true)
        #expect(config.connector(named: "xero-invoices")?.receives(topic: "order_created", from: "stripe-events") == false)
    }
}
