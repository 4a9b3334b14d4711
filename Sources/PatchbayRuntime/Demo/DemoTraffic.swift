import AsyncHTTPClient
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PatchbayHub
import PatchbayStore

/// The demo's senders: Shopify, the storefront and the CRM posting signed webhooks to the hub, in a
/// steady trickle with a burst every two minutes and the odd misconfigured sender (bad signature);
/// and the ERP and QuickBooks dropping export files for the batch jobs.
final class DemoTraffic: Sendable {
    let hub: String
    let client: HTTPClient
    let exports: URL
    let store: Store
    let logger: Logger
    private let counter = OrderCounter()

    init(hubPort: Int, client: HTTPClient, exports: URL, store: Store, logger: Logger) {
        self.hub = "http://127.0.0.1:\(hubPort)"
        self.client = client
        self.exports = exports
        self.store = store
        self.logger = logger
    }

    /// Runs until cancelled.
    func run() async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.every(1.4, burstEvery: 120, burst: 25) { try await self.shopifyOrder() } }
            group.addTask { await self.every(1.1, burstEvery: 150, burst: 20) { try await self.storefrontEvent() } }
            group.addTask { await self.every(3.0, burstEvery: 0, burst: 0) { try await self.crmContact() } }
            group.addTask {
                try? await Task.sleep(for: .seconds(30))
                await self.every(30, burstEvery: 0, burst: 0) { try self.dropStockExport() }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(120))
                await self.every(120, burstEvery: 0, burst: 0) { try self.dropQuickBooksExport() }
            }
        }
    }

    private func every(_ seconds: Double, burstEvery: Double, burst: Int, _ body: @escaping @Sendable () async throws -> Void) async {
        var lastBurst = Date()
        while !Task.isCancelled {
            do { try await body() } catch {
                logger.debug("demo sender failed", metadata: ["error": "\(error)"])
            }
            if burstEvery > 0, Date().timeIntervalSince(lastBurst) > burstEvery {
                lastBurst = Date()
                await withDiscardingTaskGroup { group in
                    for _ in 0..<burst { group.addTask { try? await body() } }
                }
            }
            try? await Task.sleep(for: .milliseconds(Int(seconds * 1000 * Double.random(in: 0.5...1.5))))
        }
    }

    // MARK: Webhooks

    private func post(_ path: String, body: [UInt8], headers: [(String, String)]) async throws {
        var request = HTTPClientRequest(url: hub + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 16)
    }

    private func shopifyOrder() async throws {
        let number = counter.next()
        let customer = Seeder.customers[number % Seeder.customers.count]
        let body = Array(DemoPayloads.shopifyOrder(number: number, customer: customer.name, email: customer.email,
                                                   currency: customer.currency).utf8)
        var signature = Data(HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(DemoConfig.secrets["DEMO_SHOPIFY_SECRET"]!.utf8)))).base64EncodedString()
        if Double.random(in: 0..<1) < 0.02 { signature = "bm90IHRoZSByaWdodCBzaWduYXR1cmUgYXQgYWxsIQ==" }  // a sender with a stale secret
        try await post("/webhooks/shopify-orders", body: body, headers: [
            ("X-Shopify-Topic", "orders/create"), ("X-Shopify-Hmac-Sha256", signature),
            ("X-Shopify-Webhook-Id", UUID().uuidString.lowercased()), ("X-Shopify-Shop-Domain", "atelier-demo.myshopify.com"),
        ])
    }

    private func storefrontEvent() async throws {
        let number = counter.next()
        let type = Double.random(in: 0..<1) < 0.6 ? "order_created" : "shipment_confirmed"
        let customer = Seeder.customers[number % Seeder.customers.count]
        let body = Array(DemoPayloads.storefront(type: type, number: number, customer: customer.name).utf8)
        let id = "msg_\(UUID().uuidString.lowercased().prefix(18))"
        let timestamp = String(Int(Date().timeIntervalSince1970))
        let secret = DemoConfig.secrets["DEMO_STOREFRONT_SECRET"]!.dropFirst("whsec_".count)
        let key = SymmetricKey(data: Data(base64Encoded: String(secret))!)
        let signed = Array("\(id).\(timestamp).".utf8) + body
        let signature = Data(HMAC<SHA256>.authenticationCode(for: signed, using: key)).base64EncodedString()
        try await post("/webhooks/storefront-events", body: body, headers: [
            ("webhook-id", id), ("webhook-timestamp", timestamp), ("webhook-signature", "v1,\(signature)"),
        ])
    }

    private func crmContact() async throws {
        let customer = Seeder.customers.randomElement()!
        let body = Array(DemoPayloads.contact(name: customer.name, email: customer.email).utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(DemoConfig.secrets["DEMO_CRM_SECRET"]!.utf8)))
        let hex = mac.map { String(format: "%02x", $0) }.joined()
        try await post("/webhooks/crm-contacts", body: body, headers: [
            ("X-GitHub-Event", "contact_updated"), ("X-GitHub-Delivery", UUID().uuidString), ("X-Hub-Signature-256", "sha256=\(hex)"),
        ])
    }

    // MARK: File drops

    func dropFiles() throws {
        try dropStockExport()
        try dropQuickBooksExport()
    }

    private func dropStockExport() throws {
        var csv = "sku,on_hand,warehouse,counted_at\r\n"
        let stamp = Date().iso8601
        for (sku, _, _) in DemoPayloads.products {
            csv += "\(sku),\(Int.random(in: 0...400)),LYS-1,\(stamp)\r\n"
        }
        try write(csv, to: "erp-stock.csv")
    }

    /// QuickBooks' A/R aging detail in EUR: the store's open EUR invoices of the QuickBooks source,
    /// one or two of them paid since the last export, and a new one now and then.
    private func dropQuickBooksExport() throws {
        let open = try store.openInvoices(currency: "EUR", connector: "quickbooks-ar")
        var csv = "A/R Aging Detail\r\nAs of \(Date().isoDay)\r\n\r\nDate,Transaction Type,Num,Customer,Due Date,Amount,Open Balance\r\n"
        let paid = Set(open.shuffled().prefix(2).map(\.number))
        func money(_ minor: Int64) -> String { String(format: "%.2f", Double(minor) / 100) }
        func us(_ day: String) -> String {
            let p = day.split(separator: "-")
            return "\(p[1])/\(p[2])/\(p[0])"
        }
        for invoice in open {
            let balance = paid.contains(invoice.number) ? 0 : invoice.openMinor
            csv += "\(us(invoice.issueDate)),Invoice,\(invoice.number),\"\(invoice.customer)\",\(us(invoice.dueDate)),\(money(invoice.totalMinor)),\(money(balance))\r\n"
        }
        let number = 9000 + counter.next()
        let customer = Seeder.customers.filter { $0.currency == "EUR" }.randomElement()!.name
        let total = Int64.random(in: 20_000...400_000)
        let due = Date().addingTimeInterval(30 * 86400).isoDay
        csv += "\(us(Date().isoDay)),Invoice,INV-\(number),\"\(customer)\",\(us(due)),\(money(total)),\(money(total))\r\n"
        try write(csv, to: "quickbooks-ar-eur.csv")
    }

    private func write(_ text: String, to name: String) throws {
        try FileManager.default.createDirectory(at: exports, withIntermediateDirectories: true)
        // Write beside, then rename: a job never reads half a file.
        let temporary = exports.appendingPathComponent(".\(name).partial")
        try Data(text.utf8).write(to: temporary)
        guard rename(temporary.path, exports.appendingPathComponent(name).path) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }
}

private final class OrderCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = Int(Date().timeIntervalSince1970) % 100_000 + 20_000
    func next() -> Int { lock.withLock { value += 1; return value } }
}

enum DemoPayloads {
    static let products = [
        ("MUG-BLU-350", "Stoneware mug, blue", "18.50"),
        ("TEA-EARLGREY-250", "Earl Grey loose leaf 250 g", "15.00"),
        ("POT-CER-1L", "Ceramic teapot 1 l", "42.00"),
        ("BEAN-ETH-1KG", "Ethiopian beans 1 kg", "31.90"),
        ("FILTER-V60-100", "V60 filters, 100", "6.40"),
    ]

    static func json(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    static func shopifyOrder(number: Int, customer: String, email: String, currency: String) -> String {
        let lines = products.shuffled().prefix(Int.random(in: 1...3)).enumerated().map { index, product -> [String: Any] in
            ["id": number * 10 + index, "sku": product.0, "title": product.1, "quantity": Int.random(in: 1...6),
             "price": product.2, "taxable": true]
        }
        let subtotal = lines.reduce(0.0) { $0 + Double($1["price"] as! String)! * Double($1["quantity"] as! Int) }
        let tax = (subtotal * 0.2 * 100).rounded() / 100
        let now = Date().iso8601
        let parts = customer.split(separator: " ")
        return json([
            "id": 5_812_734_000_000 + number, "name": "#\(number)", "order_number": number, "email": email,
            "created_at": now, "updated_at": now, "processed_at": now, "currency": currency,
            "financial_status": "paid", "subtotal_price": String(format: "%.2f", subtotal),
            "total_tax": String(format: "%.2f", tax), "total_discounts": "0.00",
            "total_price": String(format: "%.2f", subtotal + tax), "taxes_included": false,
            "customer": ["id": 7_190_000_000 + number % 97, "email": email, "first_name": String(parts.first ?? ""),
                         "last_name": String(parts.dropFirst().joined(separator: " ")), "currency": currency],
            "billing_address": ["company": customer, "address1": "1 Demo Street", "city": "Lyon", "zip": "69002",
                                "country_code": "FR"],
            "line_items": lines, "shipping_lines": [], "tags": "demo", "note": NSNull(),
        ])
    }

    static func storefront(type: String, number: Int, customer: String) -> String {
        let product = products.randomElement()!
        return json(["type": type, "timestamp": Date().iso8601, "data": [
            "order": "SF-\(number)", "customer": customer, "sku": product.0, "quantity": Int.random(in: 1...4),
            "carrier": type == "shipment_confirmed" ? ["DHL", "UPS", "La Poste"].randomElement()! : NSNull(),
        ] as [String: Any]])
    }

    static func contact(name: String, email: String) -> String {
        json(["contact": ["name": name, "email": email, "lifecycle_stage": ["lead", "customer", "customer"].randomElement()!,
                          "updated_at": Date().iso8601]])
    }
}
