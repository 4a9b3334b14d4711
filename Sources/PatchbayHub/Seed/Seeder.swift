import Foundation
import PatchbayStore

/// Fills a database with a realistic history of the integrations Patchbay runs.
///
/// Nothing is written behind the store's back: the seeder replays the history minute by minute
/// through the same calls the hub makes (ingest, claim, record outcome, recover leases), with a
/// failure model per target system: Xero rate-limits (429 with Retry-After) and rejects some
/// invoices (400 with its validation body), the ERP has a three-hour outage, shipping times out,
/// inventory refuses out-of-stock reservations. The result has deliveries in every state, error
/// groups, a retry queue and dead letters. The random source is seeded, so a seed is repeatable.
public struct Seeder: Sendable {
    public struct Options: Sendable {
        public var events: Int
        public var days: Int
        public var seed: UInt64
        public var now: Date

        public init(events: Int = 5000, days: Int = 7, seed: UInt64 = 42, now: Date = Date()) {
            self.events = events
            self.days = days
            self.seed = seed
            self.now = now
        }
    }

    public struct Summary: Sendable, Equatable {
        public var events = 0
        public var deliveries = 0
        public var attempts = 0
    }

    public let options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    /// The connectors of the demo company, with the pattern each takes part in.
    public static let connectors: [ConnectorSpec] = [
        // Point-to-point: Shopify orders become Xero invoices.
        ConnectorSpec(name: "shopify-orders", module: "webhook", pattern: .pointToPoint, system: "Shopify", direction: .source),
        ConnectorSpec(name: "xero-invoices", module: "xero", pattern: .pointToPoint, system: "Xero", direction: .sink),
        // Hub-and-spoke: CRM, ERP and warehouse talk only to the hub.
        ConnectorSpec(name: "crm-contacts", module: "webhook", pattern: .hub, system: "HubSpot CRM", direction: .source),
        ConnectorSpec(name: "erp-sync", module: "http", pattern: .hub, system: "ERP", direction: .sink),
        ConnectorSpec(name: "warehouse-sync", module: "http", pattern: .hub, system: "Warehouse", direction: .sink),
        ConnectorSpec(name: "crm-sync", module: "http", pattern: .hub, system: "HubSpot CRM", direction: .sink),
        // Event-driven: order_created fans out to three subscribers.
        ConnectorSpec(name: "storefront-events", module: "webhook", pattern: .event, system: "Storefront", direction: .source),
        ConnectorSpec(name: "inventory-reserve", module: "http", pattern: .event, system: "Inventory", direction: .sink),
        ConnectorSpec(name: "shipping-labels", module: "http", pattern: .event, system: "Shipping", direction: .sink, maxAttempts: 6),
        ConnectorSpec(name: "accounting-invoices", module: "http", pattern: .event, system: "Xero", direction: .sink),
        // Batch ETL: nightly loads.
        ConnectorSpec(name: "erp-stock-export", module: "file", pattern: .batch, system: "ERP", direction: .source),
        ConnectorSpec(name: "reporting-warehouse", module: "file", pattern: .batch, system: "Data warehouse", direction: .sink),
    ]

    /// Topic, source, targets and the share of traffic of each flow.
    static let flows: [(topic: String, source: String, targets: [String], weight: Double)] = [
        ("order_created", "shopify-orders", ["xero-invoices"], 0.30),
        ("order_created", "storefront-events", ["inventory-reserve", "shipping-labels", "accounting-invoices"], 0.30),
        ("contact_updated", "crm-contacts", ["erp-sync", "warehouse-sync"], 0.15),
        ("shipment_confirmed", "storefront-events", ["crm-sync", "erp-sync"], 0.15),
        ("stock_level_changed", "erp-stock-export", ["reporting-warehouse", "warehouse-sync"], 0.10),
    ]

    /// The demo company's customers: name, invoicing currency, accounts e-mail.
    public static let customers: [(name: String, currency: String, email: String)] = [
        ("Atelier Moreau SARL", "EUR", "ines.moreau@example.fr"),
        ("Brightwater Cafés Ltd", "GBP", "accounts@brightwater.example.co.uk"),
        ("Casa Núñez S.L.", "EUR", "pagos@casanunez.example.es"),
        ("Delacroix & Fils", "EUR", "compta@delacroix.example.fr"),
        ("Eastside Grocers", "USD", "ap@eastside.example.com"),
        ("Fjällräven Outpost AB", "EUR", "faktura@outpost.example.se"),
        ("Granja Olmo", "EUR", "admin@granjaolmo.example.es"),
        ("Hoffmann Küchen GmbH", "EUR", "buchhaltung@hoffmann.example.de"),
        ("Juniper & Oak Co.", "USD", "billing@juniperoak.example.com"),
        ("Kettle Yard Roasters", "GBP", "finance@kettleyard.example.co.uk"),
    ]

    static let products = [
        ("MUG-BLU-350", "Stoneware mug, blue", "18.50"),
        ("TEA-EARLGREY-250", "Earl Grey loose leaf 250 g", "15.00"),
        ("POT-CER-1L", "Ceramic teapot 1 l", "42.00"),
        ("BEAN-ETH-1KG", "Ethiopian beans 1 kg", "31.90"),
        ("FILTER-V60-100", "V60 filters, 100", "6.40"),
    ]

    /// Seeds `store`. Connectors are created (or updated) first.
    @discardableResult
    public func run(on store: some ConnectorCatalog & EventIngest & DeliveryQueue,
                    progress: (@Sendable (Int) -> Void)? = nil) throws -> Summary {
        var rng = SeededRandom(seed: options.seed)
        var ids: [String: ConnectorID] = [:]
        var maxAttempts: [ConnectorID: Int] = [:]
        for spec in Self.connectors {
            let connector = try store.saveConnector(spec, now: options.now.addingTimeInterval(-Double(options.days) * 86_400))
            ids[spec.name] = connector.id
            maxAttempts[connector.id] = spec.maxAttempts ?? RetryPolicy.default.maxAttempts
        }
        let policies = Dictionary(uniqueKeysWithValues: Self.connectors.map { spec in
            (ids[spec.name]!, OutcomePolicy(retry: RetryPolicy(
                maxAttempts: spec.maxAttempts ?? RetryPolicy.default.maxAttempts,
                baseDelay: RetryPolicy.default.baseDelay, multiplier: 2, maxDelay: 7200, jitter: 0.2)))
        })
        let names = Dictionary(uniqueKeysWithValues: ids.map { ($1, $0) })

        let start = options.now.addingTimeInterval(-Double(options.days) * 86_400)
        let stepSeconds: TimeInterval = 60
        let steps = max(1, Int(Double(options.days) * 86_400 / stepSeconds))
        // Busier during the working day: weight each step by a daily curve, then spread the events.
        let weights = (0..<steps).map { step -> Double in
            let hour = (Double(step) * stepSeconds / 3600).truncatingRemainder(dividingBy: 24)
            return 0.35 + max(0, sin((hour - 6) / 16 * .pi))
        }
        let totalWeight = weights.reduce(0, +)
        var summary = Summary()
        var carried = 0.0
        var orderNumber = 1000
        let outageStart = options.now.addingTimeInterval(-2 * 86_400 + 3600 * 2)  // the ERP's bad afternoon
        let outageEnd = outageStart.addingTimeInterval(3 * 3600)
        let ongoingOutage = options.now.addingTimeInterval(-50 * 60)

        for step in 0..<steps {
            let t = start.addingTimeInterval(Double(step) * stepSeconds)
            carried += Double(options.events) * weights[step] / totalWeight
            var batch: [NewEvent] = []
            while carried >= 1 && summary.events + batch.count < options.events {
                carried -= 1
                let flow = Self.pickFlow(&rng)
                orderNumber += 1
                let at = t.addingTimeInterval(rng.unit() * stepSeconds * 0.9)
                let targets = flow.targets.map { name in
                    DeliveryTarget(connectorId: ids[name]!, maxAttempts: maxAttempts[ids[name]!]!)
                }
                batch.append(NewEvent(
                    topic: flow.topic, sourceId: ids[flow.source]!,
                    idempotencyKey: "\(flow.source)-\(options.seed)-\(summary.events + batch.count)",
                    payload: Self.payload(topic: flow.topic, source: flow.source, order: orderNumber, at: at, rng: &rng),
                    receivedAt: at, occurredAt: at.addingTimeInterval(-rng.unit() * 2),
                    correlationId: "order-\(orderNumber)", targets: targets))
            }
            if step == steps - 1 {
                while summary.events + batch.count < options.events {  // rounding leftovers
                    orderNumber += 1
                    let flow = Self.pickFlow(&rng)
                    batch.append(NewEvent(
                        topic: flow.topic, sourceId: ids[flow.source]!,
                        idempotencyKey: "\(flow.source)-\(options.seed)-\(summary.events + batch.count)",
                        payload: Self.payload(topic: flow.topic, source: flow.source, order: orderNumber, at: t, rng: &rng),
                        receivedAt: t, correlationId: "order-\(orderNumber)",
                        targets: flow.targets.map { DeliveryTarget(connectorId: ids[$0]!, maxAttempts: maxAttempts[ids[$0]!]!) }))
                }
            }
            if !batch.isEmpty {
                let results = try store.ingest(batch)
                summary.events += batch.count
                for case .accepted(_, let deliveries) in results { summary.deliveries += deliveries.count }
            }
            // Leave the last minutes unprocessed: a live system has something pending.
            if step >= steps - 3 { continue }
            let now = t.addingTimeInterval(stepSeconds)
            let claims = try store.claimDueDeliveries(connector: nil, limit: 100_000, lease: 120, owner: "seed-worker",
                                                      now: now)
            var outcomes: [DeliveryOutcome] = []
            outcomes.reserveCapacity(claims.count)
            for claim in claims {
                let system = names[claim.connectorId] ?? ""
                // The ERP had a bad afternoon two days ago, and is failing again right now.
                let inOutage = (now >= outageStart && now < outageEnd) || now >= ongoingOutage
                let result = Self.simulate(target: system, claim: claim, inOutage: inOutage, rng: &rng)
                let started = now.addingTimeInterval(rng.unit() * 5)
                let duration: TimeInterval
                if case .timeout(let after) = result { duration = after } else { duration = 0.05 + rng.unit() * 0.6 }
                outcomes.append(policies[claim.connectorId]!.outcome(
                    for: claim, result: result, startedAt: started, finishedAt: started.addingTimeInterval(duration),
                    random: rng.unit()))
            }
            if !outcomes.isEmpty {
                let finished = outcomes.map { $0.startedAt.addingTimeInterval(Double($0.durationMs) / 1000) }.max()!
                _ = try store.record(outcomes, now: finished)
                summary.attempts += outcomes.count
            }
            if step % 1440 == 0 { progress?(summary.events) }
        }
        progress?(summary.events)
        return summary
    }

    static func pickFlow(_ rng: inout SeededRandom) -> (topic: String, source: String, targets: [String], weight: Double) {
        var roll = rng.unit()
        for flow in flows {
            if roll < flow.weight { return flow }
            roll -= flow.weight
        }
        return flows[0]
    }

    /// What the target system does with one attempt, by the failure model of its connector.
    static func simulate(target: String, claim: Claim, inOutage: Bool, rng: inout SeededRandom) -> SinkResult {
        let roll = rng.unit()
        switch target {
        case "xero-invoices", "accounting-invoices":
            if roll < 0.06 {
                return .httpError(status: 429, message: "Too Many Requests", retryAfter: 27,
                                  excerpt: "X-Rate-Limit-Problem: minute")
            }
            if roll < 0.08 {
                return .httpError(
                    status: 400,
                    message: "ValidationException: Account code '2000' is not a valid code for this document.",
                    retryAfter: nil,
                    excerpt: #"{"ErrorNumber":10,"Type":"ValidationException","Message":"A validation exception occurred"}"#)
            }
            if roll < 0.09 {
                return .httpError(status: 503, message: "Service Unavailable", retryAfter: nil, excerpt: nil)
            }
        case "erp-sync":
            if inOutage || roll < 0.02 {
                return .httpError(status: 503, message: "Service Unavailable", retryAfter: nil,
                                  excerpt: "<html><body>upstream connect error</body></html>")
            }
        case "shipping-labels":
            if roll < 0.05 { return .timeout(after: 30) }
        case "inventory-reserve":
            if roll < 0.015 {
                let sku = products[Int(rng.unit() * Double(products.count))].0
                return .httpError(status: 409, message: "Insufficient stock for SKU \(sku)", retryAfter: nil, excerpt: nil)
            }
        case "crm-sync":
            if roll < 0.01 { return .connectionError("connection refused (crm.example.com:443)") }
        case "warehouse-sync", "reporting-warehouse":
            if roll < 0.005 {
                return .httpError(status: 500, message: "Internal Server Error", retryAfter: nil, excerpt: nil)
            }
        default:
            break
        }
        return .success(status: 200, excerpt: #"{"status":"ok"}"#)
    }

    static func payload(topic: String, source: String = "", order: Int, at: Date, rng: inout SeededRandom) -> String {
        let customer = customers[Int(rng.unit() * Double(customers.count))]
        let lines = 1 + Int(rng.unit() * 3)
        var items: [String] = []
        var canonicalLines: [String] = []
        var totalCents = 0
        for _ in 0..<lines {
            let product = products[Int(rng.unit() * Double(products.count))]
            let quantity = 1 + Int(rng.unit() * 4)
            let unitCents = Int(product.2.replacingOccurrences(of: ".", with: ""))!
            totalCents += unitCents * quantity
            items.append(#"{"sku":"\#(product.0)","title":"\#(product.1)","quantity":\#(quantity),"price":"\#(product.2)"}"#)
            canonicalLines.append(#"{"description":"\#(product.1)","quantity":"\#(quantity)","sku":"\#(product.0)","unit_price":"\#(product.2)"}"#)
        }
        let total = String(format: "%d.%02d", totalCents / 100, totalCents % 100)
        let time = at.iso8601
        switch topic {
        case "contact_updated":
            return #"{"contact":{"id":"crm-\#(order)","name":"\#(customer.0)","email":"\#(customer.2)"},"changed":["email","phone"],"updated_at":"\#(time)"}"#
        case "shipment_confirmed":
            return #"{"order_number":\#(order),"carrier":"DHL","tracking_number":"JD01460000\#(order)","shipped_at":"\#(time)"}"#
        case "stock_level_changed":
            let product = products[order % products.count]
            return #"{"sku":"\#(product.0)","warehouse":"AMS-1","on_hand":\#(Int(rng.unit() * 500)),"as_of":"\#(time)"}"#
        case "order_created" where source == "shopify-orders":
            // What the live hub stores: the canonical order the shopify-order transform makes.
            let subtotalCents = totalCents
            let lineJSON = canonicalLines
            let taxCents = subtotalCents / 5
            func money(_ cents: Int) -> String { String(format: "%d.%02d", cents / 100, cents % 100) }
            let day = at.isoDay
            return ##"{"created_at":"\##(time)","currency":"\##(customer.1)","customer":{"email":"\##(customer.2)","name":"\##(customer.0)"},"date":"\##(day)","financial_status":"paid","id":"shopify:\##(5_000_000_000 + order)","lines":[\##(lineJSON.joined(separator: ","))],"name":"#\##(order)","number":"\##(order)","source":"shopify","subtotal":"\##(money(subtotalCents))","tags":[],"taxes_included":false,"total":"\##(money(subtotalCents + taxCents))","total_tax":"\##(money(taxCents))"}"##
        default:
            return #"{"id":\#(5_000_000_000 + order),"order_number":\#(order),"email":"\#(customer.2)","created_at":"\#(time)","currency":"\#(customer.1)","total_price":"\#(total)","customer":{"name":"\#(customer.0)"},"line_items":[\#(items.joined(separator: ","))]}"#
        }
    }
}

/// A small, fast, seedable generator (SplitMix64), so seeded histories repeat exactly.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed &+ 0x9E37_79B9_7F4A_7C15
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A double in 0..<1.
    public mutating func unit() -> Double {
        Double(next() >> 11) / Double(1 << 53)
    }
}
