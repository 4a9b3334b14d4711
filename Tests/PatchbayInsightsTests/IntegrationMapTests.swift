import Foundation
import Testing
import PatchbayStore
@testable import PatchbayInsights

@Suite struct IntegrationMapTests {
    @Test func systemsAreNodesWithTheHubAndHubEdgesPassThroughIt() throws {
        var shape = ShapeBuilder()
        let shop = shape.connector("shopify-orders", system: "Shopify", pattern: .pointToPoint, direction: .source)
        let xero = shape.connector("xero-invoices", system: "Xero", pattern: .pointToPoint, direction: .sink)
        let crm = shape.connector("crm-contacts", system: "CRM", pattern: .hub, direction: .source)
        let erp = shape.connector("erp-sync", system: "ERP", pattern: .hub, direction: .sink, health: .failing)
        let crmSync = shape.connector("crm-sync", system: "CRM", pattern: .hub, direction: .sink)
        let erpOut = shape.connector("erp-out", system: "ERP", pattern: .hub, direction: .source)
        shape.route(shop, xero, topic: "order_created", perDay: 700, p50: 250, p95: 900)
        shape.route(crm, erp, topic: "contact_updated", perDay: 1_400, failedPerDay: 100)
        shape.route(erpOut, crmSync, topic: "shipment_confirmed", perDay: 70)
        let map = IntegrationMap.build(from: shape.build())

        #expect(map.nodes.map(\.id) == ["CRM", "ERP", "Shopify", "Xero", IntegrationMap.hubID])
        #expect(map.node("CRM")?.connectors == ["crm-contacts", "crm-sync"])
        #expect(map.node(IntegrationMap.hubID)?.kind == .hub)
        #expect(map.node(IntegrationMap.hubID)?.health == .failing)

        let direct = try #require(map.edges.first { $0.id == "shopify-orders->xero-invoices" })
        #expect(direct.from == "Shopify" && direct.to == "Xero" && direct.via == nil)
        #expect(direct.pattern == .pointToPoint && direct.direction == .oneWay)
        #expect(direct.eventsPerDay == 700)
        #expect(direct.latency == IntegrationMap.Latency(p50Ms: 250, p95Ms: 900, samples: 4_900))
        #expect(direct.topics == ["order_created"])

        let spoke = try #require(map.edges.first { $0.id == "crm-contacts->erp-sync" })
        #expect(spoke.via == IntegrationMap.hubID)
        #expect(spoke.direction == .twoWay)
        #expect(spoke.health == .failing)
        // 700 failed attempts against 9,800 delivered in the window.
        #expect(abs(spoke.failureRate - 700.0 / 10_500) < 1e-9)
        #expect(spoke.peakHour != nil)
    }
}
