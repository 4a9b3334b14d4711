import Foundation
import PatchbayHub
import PatchbayStore

/// Makes realistic events quickly: payloads like the demo company's webhooks (300 to 500 bytes of
/// JSON), random webhook ids as idempotency keys, order numbers as correlation ids.
///
/// Millions of events are made per run, so nothing here goes through Foundation's date formatting.
struct EventFactory {
    var rng: SeededRandom
    /// The last order number handed out; shipment events refer back to recent orders.
    private(set) var orderNumber = 100_000

    init(seed: UInt64) {
        rng = SeededRandom(seed: seed)
    }

    static let customers = Seeder.customers

    static let products: [(sku: String, title: String, cents: Int)] = [
        ("MUG-BLU-350", "Stoneware mug, blue", 1850),
        ("TEA-EARLGREY-250", "Earl Grey loose leaf 250 g", 1500),
        ("POT-CER-1L", "Ceramic teapot 1 l", 4200),
        ("BEAN-ETH-1KG", "Ethiopian beans 1 kg", 3190),
        ("FILTER-V60-100", "V60 filters, 100", 640),
    ]

    /// A random webhook delivery id, as Shopify and most senders use: keys arrive in no order.
    mutating func webhookId() -> String {
        Self.hex(rng.next()) + Self.hex(rng.next())
    }

    /// A new order: returns its number.
    mutating func nextOrder() -> Int {
        orderNumber += 1
        return orderNumber
    }

    /// One of the last `span` orders (a shipment, an invoice for an order seen earlier).
    mutating func recentOrder(span: Int = 500) -> Int {
        max(100_001, orderNumber - Int(rng.unit() * Double(span)))
    }

    /// The payload of an event on `topic` about `order`, at `millis`.
    mutating func payload(topic: String, order: Int, millis: Int64) -> String {
        let time = Self.iso8601(millis: millis)
        let customer = Self.customers[Int(rng.unit() * Double(Self.customers.count))]
        switch topic {
        case "contact_updated":
            return #"{"contact":{"id":"crm-\#(order)","name":"\#(customer.name)","email":"\#(customer.email)"},"changed":["email","phone"],"updated_at":"\#(time)"}"#
        case "shipment_confirmed":
            return #"{"order_number":\#(order),"carrier":"DHL","tracking_number":"JD01460000\#(order)","shipped_at":"\#(time)"}"#
        case "stock_level_changed":
            let product = Self.products[order % Self.products.count]
            return #"{"sku":"\#(product.sku)","warehouse":"AMS-1","on_hand":\#(Int(rng.unit() * 500)),"as_of":"\#(time)"}"#
        default:
            let lines = 1 + Int(rng.unit() * 3)
            var items: [String] = []
            var totalCents = 0
            for _ in 0..<lines {
                let product = Self.products[Int(rng.unit() * Double(Self.products.count))]
                let quantity = 1 + Int(rng.unit() * 4)
                totalCents += product.cents * quantity
                items.append(#"{"sku":"\#(product.sku)","title":"\#(product.title)","quantity":\#(quantity),"price":"\#(Self.money(product.cents))"}"#)
            }
            return #"{"id":\#(5_000_000_000 + order),"order_number":\#(order),"email":"\#(customer.email)","created_at":"\#(time)","currency":"\#(customer.currency)","total_price":"\#(Self.money(totalCents))","customer":{"name":"\#(customer.name)"},"line_items":[\#(items.joined(separator: ","))]}"#
        }
    }

    /// `12.50`
    static func money(_ cents: Int) -> String {
        let rest = cents % 100
        return "\(cents / 100).\(rest < 10 ? "0" : "")\(rest)"
    }

    /// Sixteen lowercase hex digits.
    static func hex(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }

    /// `2026-11-25T13:35:14Z`, by integer arithmetic (days-from-civil, inverted).
    static func iso8601(millis: Int64) -> String {
        let seconds = Int(millis / 1000)
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))Z"
    }
}
