import Foundation
import Testing
import PatchbayStore
@testable import PatchbayInsights

@Suite struct AdvisorTests {
    @Test func twoSystemsPointToPointAt300ADayStayPointToPoint() throws {
        var shape = ShapeBuilder()
        let shop = shape.connector("shopify-orders", system: "Shopify", pattern: .pointToPoint, direction: .source)
        let xero = shape.connector("xero-invoices", system: "Xero", pattern: .pointToPoint, direction: .sink)
        shape.route(shop, xero, topic: "order_created", perDay: 300)
        let advice = Advisor().advise(shape.build())

        #expect(advice.installation.current == .pointToPoint)
        #expect(advice.installation.recommended == .pointToPoint)
        #expect(advice.installation.verdict == .keep)
        #expect(advice.installation.reason
            == "2 systems wired directly: 1 possible integration, 1 configured; 300 events/day (at most 3 systems, under 1,000/day) → point-to-point is right")
        #expect(advice.installation.figures.first { $0.name == "events_per_day" }?.value == 300)
        let edge = try #require(advice.integrations.first)
        #expect(edge.edgeID == "shopify-orders->xero-invoices")
        #expect(edge.verdict == .keep)
        #expect(edge.reason.contains("300 events/day (under 1,000/day) → point-to-point is right"))
        #expect(advice.installation.growth?.trend == .flat)
        #expect(advice.installation.growth?.summary.contains("no threshold crossing") == true)
    }

    @Test func fiveSystemsWiredDirectlyAt4000ADayShouldMoveToTheHub() throws {
        var shape = ShapeBuilder()
        let systems = ["Shopify", "Xero", "ERP", "CRM", "Warehouse"]
        let pairs = [(0, 1, 600.0), (0, 2, 600), (0, 4, 600), (3, 2, 600), (3, 1, 600), (2, 4, 500), (4, 1, 500)]
        for (index, (from, to, perDay)) in pairs.enumerated() {
            let source = shape.connector("src-\(index)", system: systems[from], pattern: .pointToPoint, direction: .source)
            let sink = shape.connector("dst-\(index)", system: systems[to], pattern: .pointToPoint, direction: .sink)
            shape.route(source, sink, topic: "t\(index)", perDay: perDay)
        }
        let advice = Advisor().advise(shape.build())

        #expect(advice.installation.recommended == .hub)
        #expect(advice.installation.verdict == .change)
        #expect(advice.installation.reason.hasPrefix(
            "5 systems wired directly: 10 possible integrations, 7 configured; 4,000 events/day"))
        #expect(advice.installation.reason.hasSuffix("→ hub-and-spoke"))
        let cost = try #require(advice.installation.cost)
        #expect(cost.perNewSystemNow == 5 && cost.perNewSystemRecommended == 1)
        #expect(cost.connectionsNow == 7 && cost.connectionsRecommended == 5)
        #expect(cost.summary.contains("a 6th system adds up to 5 wired directly, 1 through the hub"))
        #expect(advice.integrations.count == 7)
        #expect(advice.integrations.allSatisfy { $0.recommended == .hub && $0.verdict == .change })
        #expect(advice.integrations[0].reason.contains("one of 7 direct integrations among 5 systems"))
    }

    @Test func aHubAt60000ADayShouldGoEventDrivenAndGetASecondNode() throws {
        var shape = ShapeBuilder()
        let crm = shape.connector("crm-contacts", system: "CRM", pattern: .hub, direction: .source)
        for (index, system) in ["ERP", "Warehouse", "Billing", "Support", "Analytics"].enumerated() {
            let sink = shape.connector("sink-\(index)", system: system, pattern: .hub, direction: .sink)
            shape.route(crm, sink, topic: "topic-\(index)", perDay: 12_000)
        }
        let advice = Advisor().advise(shape.build())

        #expect(advice.installation.current == .hub)
        #expect(advice.installation.recommended == .event)
        #expect(advice.installation.verdict == .change)
        #expect(advice.installation.reason.contains("6 systems through the hub"))
        #expect(advice.installation.reason.contains("60,000 events/day (at or above 50,000/day) → event-driven"))
        #expect(advice.installation.reason.contains(
            "hub at 60,000 events/day with one node → add a second node on PostgreSQL for redundancy"))
        #expect(advice.installation.figures.contains { $0.name == "hub_nodes" && $0.value == 1 })
        // Each spoke on its own is well under the event-driven volume: the hub stays right for it.
        #expect(advice.integrations.allSatisfy { $0.verdict == .keep && $0.current == .hub })
    }

    @Test func aFanOutWhoseTargetsNeedItWithinSecondsIsEventDriven() throws {
        var shape = ShapeBuilder()
        let store = shape.connector("storefront-events", system: "Storefront", pattern: .hub, direction: .source)
        for (name, system) in [("inventory-reserve", "Inventory"), ("shipping-labels", "Shipping"),
                               ("accounting-invoices", "Xero")] {
            let sink = shape.connector(name, system: system, pattern: .hub, direction: .sink)
            shape.route(store, sink, topic: "order_created", perDay: 2_000, p50: 300, p95: 1_200)
        }
        let advice = Advisor().advise(shape.build())

        #expect(advice.integrations.count == 3)
        for recommendation in advice.integrations {
            #expect(recommendation.recommended == .event)
            #expect(recommendation.verdict == .change)
            #expect(recommendation.reason
                == "order_created reaches 3 targets that each need it within seconds (p95 at most 1.2 s) → event-driven fan-out")
            #expect(recommendation.figures.contains { $0.name == "fan_out_targets" && $0.value == 3 })
        }
    }

    @Test func aReportingBatchReadOnlyByTheAgingReportStaysBatch() throws {
        var shape = ShapeBuilder()
        let quickbooks = shape.connector("quickbooks-ar", system: "QuickBooks", pattern: .batch, direction: .source)
        shape.batchJob("quickbooks-ar", connector: quickbooks, interval: 3_600_000, rowsPerRun: 40)
        let snapshot = shape.build()
        let map = IntegrationMap.build(from: snapshot)
        let edge = try #require(map.edges.first)
        #expect(edge.from == "QuickBooks" && edge.to == IntegrationMap.hubID && edge.pattern == .batch)

        let advice = Advisor().advise(snapshot)
        let recommendation = try #require(advice.integrations.first)
        #expect(advice.integrations.count == 1)
        #expect(recommendation.edgeID == "quickbooks-ar->patchbay")
        #expect(recommendation.verdict == .keep && recommendation.recommended == .batch)
        #expect(recommendation.reason
            == "quickbooks-ar: 168 runs in 7 days, every 1 h (median), 6,720 rows loaded, read only by the aging report → batch is right")
    }

    @Test func aBatchJobRunningEveryMinuteIsToldWebhooksWouldBeFaster() throws {
        var shape = ShapeBuilder()
        let quickbooks = shape.connector("quickbooks-ar", system: "QuickBooks", pattern: .batch, direction: .source)
        shape.batchJob("quickbooks-ar", connector: quickbooks, interval: 60_000, rowsPerRun: 1)
        let advice = Advisor().advise(shape.build())
        #expect(advice.integrations.first?.reason.contains(
            "runs more often than batch's 15 minutes at best: if QuickBooks can send webhooks") == true)
    }

    @Test func growthAt12PercentAWeekSaysWhenItCrosses50000ADay() throws {
        var shape = ShapeBuilder()
        let crm = shape.connector("crm", system: "CRM", pattern: .hub, direction: .source)
        let erp = shape.connector("erp", system: "ERP", pattern: .hub, direction: .sink)
        shape.route(crm, erp, topic: "contact_updated", perDay: 18_000, historyDays: 28, weeklyGrowth: 0.12)
        let advice = Advisor().advise(shape.build())
        let growth = try #require(advice.integrations.first?.growth)
        #expect(growth.trend == .growing)
        #expect(abs((growth.weeklyGrowthPercent ?? 0) - 12) < 0.1)
        #expect(growth.nextThreshold == 50_000)
        // (50,000 − 18,000) / (18,000 × 12 %) = 14.8 weeks.
        #expect(abs((growth.weeksToThreshold ?? 0) - 14.8) < 0.1)
        #expect(growth.summary == "at +12 %/week, crosses 50,000/day in about 15 weeks")
    }

    @Test func noCrossingIsClaimedForShrinkingTrafficOrAShortHistory() throws {
        var shrinking = ShapeBuilder()
        let a = shrinking.connector("a", system: "A", pattern: .hub, direction: .source)
        let b = shrinking.connector("b", system: "B", pattern: .hub, direction: .sink)
        shrinking.route(a, b, topic: "x", perDay: 5_000, weeklyGrowth: -0.10)
        let falling = try #require(Advisor().advise(shrinking.build()).integrations.first?.growth)
        #expect(falling.trend == .shrinking)
        #expect(falling.weeksToThreshold == nil)
        #expect(falling.summary.contains("no threshold crossing"))

        var young = ShapeBuilder()
        let c = young.connector("c", system: "C", pattern: .hub, direction: .source)
        let d = young.connector("d", system: "D", pattern: .hub, direction: .sink)
        young.route(c, d, topic: "x", perDay: 5_000, historyDays: 3, weeklyGrowth: 0.5)
        let short = try #require(Advisor().advise(young.build()).integrations.first?.growth)
        #expect(short.trend == .tooShort)
        #expect(short.weeklyGrowthPercent == nil && short.weeksToThreshold == nil)
        #expect(short.summary == "3 complete days of history, fewer than the 7 a trend needs: no growth claimed")
    }

    @Test func thresholdsAreTheAdvisorsNotHardCoded() throws {
        var shape = ShapeBuilder()
        let shop = shape.connector("shop", system: "Shopify", pattern: .pointToPoint, direction: .source)
        let xero = shape.connector("xero", system: "Xero", pattern: .pointToPoint, direction: .sink)
        shape.route(shop, xero, topic: "order_created", perDay: 300)
        var thresholds = AdvisorThresholds()
        thresholds.pointToPointMaxEventsPerDay = 200
        let advice = Advisor(thresholds: thresholds).advise(shape.build())
        #expect(advice.installation.recommended == .hub)
        #expect(advice.installation.reason.contains("300 events/day (200/day or more, under 50,000/day) → hub-and-spoke"))
    }

    @Test func anEmptyInstallationHasNothingToAdviseOn() {
        let advice = Advisor().advise(ShapeBuilder().build())
        #expect(advice.installation.verdict == .insufficientData)
        #expect(advice.integrations.isEmpty)
    }
}
