import Foundation
import PatchbayStore

/// Shopify order webhooks (`orders/create`, `orders/updated`, `orders/paid`, `orders/cancelled`)
/// into the canonical order, with topics `order_created`, `order_updated`, `order_paid`,
/// `order_cancelled`.
///
/// Strict where money is concerned: every amount must be a decimal string with no more decimals
/// than the currency has, and a failure names the exact JSON path (`$.line_items[1].price`).
/// Shipping lines become canonical lines (`Shipping: <title>`, no SKU) so the lines add up to what
/// was charged; discounts are not mapped yet, so an order with a discount is refused rather than
/// passed on with the wrong amounts.
public struct ShopifyOrderTransform: PayloadTransform {
    public static let topics: [String: String] = [
        "orders/create": "order_created",
        "orders/updated": "order_updated",
        "orders/paid": "order_paid",
        "orders/cancelled": "order_cancelled",
    ]

    public init() {}

    public func apply(topic: String, payload: String) throws(TransformError) -> (topic: String, payload: String) {
        guard let canonicalTopic = Self.topics[topic] else {
            throw TransformError(path: "", message: "unknown Shopify topic \(JSONValue.string(topic).briefDescription)"
                                 + "; expected one of \(Self.topics.keys.sorted().joined(separator: ", "))")
        }
        return (canonicalTopic, try order(from: payload).jsonString())
    }

    /// The canonical order for one Shopify order payload.
    public func order(from payload: String) throws(TransformError) -> CanonicalOrder {
        let root: JSONValue
        do {
            root = try JSONValue.parse(payload)
        } catch {
            throw TransformError(path: "$", message: error.description)
        }
        return try Self.map(Node(root, path: "$"))
    }

    // MARK: Mapping

    private static func map(_ root: Node) throws(TransformError) -> CanonicalOrder {
        _ = try root.object()

        let currencyNode = try root.required("currency")
        let currency = try currencyNode.string()
        guard ISO4217.isKnown(currency) else {
            throw currencyNode.error("unknown ISO 4217 currency code \(currencyNode.value.briefDescription)")
        }

        let id = try root.required("id").identifier()
        let name = try root.required("name").nonEmptyString()
        let number = try root.required("order_number").identifier()
        let createdAtNode = try root.required("created_at")
        let createdAt = try createdAtNode.string()
        guard let date = CivilDate.ofTimestamp(createdAt) else {
            throw createdAtNode.error("expected an ISO 8601 timestamp with an offset like \"2026-11-20T09:14:07+01:00\", "
                                      + "got \(createdAtNode.value.briefDescription)")
        }

        if let discounts = try root.optional("total_discounts") {
            let amount = try discounts.amount(currency: currency)
            if amount != 0 {
                throw discounts.error("discounts are not mapped to the canonical order yet; refusing rather than "
                                      + "passing on amounts that do not add up")
            }
        }

        let billing = try root.optional("billing_address")
        if let billing { _ = try billing.object() }
        let company = try billing?.optional("company").flatMap { (node) throws(TransformError) in try node.trimmedString() }

        var customerId: String?
        var personName: String?
        var customerEmail: String?
        if let customer = try root.optional("customer") {
            _ = try customer.object()
            customerId = try customer.optional("id").map { (node) throws(TransformError) in
                "shopify:" + (try node.identifier())
            }
            personName = try Self.personName(customer)
            customerEmail = try customer.optional("email").flatMap { (node) throws(TransformError) in try node.trimmedString() }
        }
        if personName == nil, let billing { personName = try Self.personName(billing) }
        let email = try root.optional("email").flatMap { (node) throws(TransformError) in try node.trimmedString() }
            ?? customerEmail
        guard let customerName = company ?? personName ?? email else {
            throw root.child("customer").error("no billing company, customer name or email to name the customer by")
        }

        let address: CanonicalOrder.Address? = try billing.map { (node) throws(TransformError) in
            CanonicalOrder.Address(
                line1: try node.optional("address1").flatMap { (n) throws(TransformError) in try n.trimmedString() } ?? "",
                city: try node.optional("city").flatMap { (n) throws(TransformError) in try n.trimmedString() } ?? "",
                postcode: try node.optional("zip").flatMap { (n) throws(TransformError) in try n.trimmedString() } ?? "",
                country: try node.optional("country_code").flatMap { (n) throws(TransformError) in try n.trimmedString() } ?? "")
        }

        let lineItems = try root.required("line_items").array()
        guard !lineItems.isEmpty else { throw root.child("line_items").error("an order needs at least one line item") }
        var lines: [CanonicalOrder.Line] = []
        for item in lineItems {
            lines.append(try Self.line(item, currency: currency))
        }
        if let shipping = try root.optional("shipping_lines") {
            for item in try shipping.array() {
                _ = try item.object()
                let price = try item.required("price")
                let title = try item.optional("title").flatMap { (n) throws(TransformError) in try n.trimmedString() }
                let unitPrice = try price.decimal(currency: currency)
                let tax = try Self.taxes(item, currency: currency)
                if try price.amount(currency: currency) == 0 && tax.amount == nil { continue }
                lines.append(CanonicalOrder.Line(sku: nil, description: "Shipping" + (title.map { ": " + $0 } ?? ""),
                                                 quantity: "1", unitPrice: unitPrice,
                                                 taxRate: tax.rate, taxAmount: tax.amount))
            }
        }

        let taxesIncluded = try root.optional("taxes_included").map { (node) throws(TransformError) in try node.bool() } ?? false
        let financialStatus = try root.optional("financial_status").map { (node) throws(TransformError) in try node.string() }
            ?? "unknown"
        let tags = try root.optional("tags").map { (node) throws(TransformError) in
            try node.string().split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        } ?? []

        return CanonicalOrder(
            id: "shopify:" + id, number: number, name: name, source: "shopify", createdAt: createdAt,
            date: date.text, currency: currency,
            customer: CanonicalOrder.Customer(id: customerId, name: customerName, email: email, company: company),
            billingAddress: address, lines: lines,
            subtotal: try root.required("subtotal_price").decimal(currency: currency),
            totalTax: try root.required("total_tax").decimal(currency: currency),
            total: try root.required("total_price").decimal(currency: currency),
            taxesIncluded: taxesIncluded, financialStatus: financialStatus, tags: tags)
    }

    private static func personName(_ node: Node) throws(TransformError) -> String? {
        let first = try node.optional("first_name").flatMap { (n) throws(TransformError) in try n.trimmedString() }
        let last = try node.optional("last_name").flatMap { (n) throws(TransformError) in try n.trimmedString() }
        let name = [first, last].compactMap { $0 }.joined(separator: " ")
        return name.isEmpty ? nil : name
    }

    private static func line(_ item: Node, currency: String) throws(TransformError) -> CanonicalOrder.Line {
        _ = try item.object()
        let quantity = try item.required("quantity")
        guard let token = quantity.value.numberToken, token.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              Int(token) != nil else {
            throw quantity.error("expected a whole quantity of 0 or more, got \(quantity.value.briefDescription)")
        }
        let price = try item.required("price")
        let unitPrice = try price.decimal(currency: currency)
        guard try price.amount(currency: currency) >= 0 else {
            throw price.error("expected an amount of 0 or more, got \(price.value.briefDescription)")
        }
        let description = try item.required("title").nonEmptyString()
        let sku = try item.optional("sku").flatMap { (n) throws(TransformError) in try n.trimmedString() }
        let tax = try taxes(item, currency: currency)
        return CanonicalOrder.Line(sku: sku, description: description, quantity: String(Int(token)!),
                                   unitPrice: unitPrice, taxRate: tax.rate, taxAmount: tax.amount)
    }

    /// The line's `tax_lines`: rates and amounts summed exactly; both nil when there are none.
    private static func taxes(_ item: Node, currency: String) throws(TransformError) -> (rate: String?, amount: String?) {
        guard let taxLines = try item.optional("tax_lines") else { return (nil, nil) }
        var rate: String?
        var amount: String?
        for tax in try taxLines.array() {
            _ = try tax.object()
            let rateNode = try tax.required("rate")
            guard let token = rateNode.value.numberToken ?? rateNode.value.stringValue,
                  DecimalText.isPlain(token), !DecimalText.isNegative(token) else {
                throw rateNode.error("expected a rate like 0.19, got \(rateNode.value.briefDescription)")
            }
            let price = try tax.required("price").decimal(currency: currency)
            if let sumRate = rate, let sumAmount = amount {
                guard let newRate = DecimalText.add(sumRate, token), let newAmount = DecimalText.add(sumAmount, price) else {
                    throw taxLines.error("tax lines add up to more than can be represented")
                }
                rate = newRate
                amount = newAmount
            } else {
                rate = token
                amount = price
            }
        }
        return (rate, amount)
    }
}

/// A value in the payload and its JSON path, for errors that say exactly where.
private struct Node {
    let value: JSONValue
    let path: String

    init(_ value: JSONValue, path: String) {
        self.value = value
        self.path = path
    }

    func error(_ message: String) -> TransformError { TransformError(path: path, message: message) }

    func child(_ key: String) -> Node {
        let isPlainKey = !key.isEmpty && key.utf8.allSatisfy {
            ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F
        }
        let childPath = isPlainKey ? "\(path).\(key)" : "\(path)[\(JSONValue.string(key).serialized())]"
        return Node(value[key] ?? .null, path: childPath)
    }

    /// The member, which must be present and not null.
    func required(_ key: String) throws(TransformError) -> Node {
        let node = child(key)
        guard value[key] != nil else { throw node.error("required field is missing") }
        guard !node.value.isNull else { throw node.error("required field is null") }
        return node
    }

    /// The member, or nil when it is absent or null.
    func optional(_ key: String) throws(TransformError) -> Node? {
        let node = child(key)
        return node.value.isNull ? nil : node
    }

    func object() throws(TransformError) -> [String: JSONValue] {
        guard let members = value.objectValue else { throw error("expected an object, got \(value.briefDescription)") }
        return members
    }

    func array() throws(TransformError) -> [Node] {
        guard let items = value.arrayValue else { throw error("expected an array, got \(value.briefDescription)") }
        return items.enumerated().map { Node($0.element, path: "\(path)[\($0.offset)]") }
    }

    func string() throws(TransformError) -> String {
        guard let text = value.stringValue else { throw error("expected a string, got \(value.briefDescription)") }
        return text
    }

    /// The string trimmed; nil when it is empty.
    func trimmedString() throws(TransformError) -> String? {
        let text = try string().trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    func nonEmptyString() throws(TransformError) -> String {
        guard let text = try trimmedString() else { throw error("expected a non-empty string, got \(value.briefDescription)") }
        return text
    }

    func bool() throws(TransformError) -> Bool {
        guard let flag = value.boolValue else { throw error("expected true or false, got \(value.briefDescription)") }
        return flag
    }

    /// An id: a JSON integer or a non-empty string of letters, digits, `-` and `_`.
    func identifier() throws(TransformError) -> String {
        let text = value.numberToken ?? value.stringValue
        guard let text, !text.isEmpty, text.count <= 64, !text.hasPrefix("-"),
              text.utf8.allSatisfy({
                  ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                      || $0 == 0x2D || $0 == 0x5F
              }) else {
            throw error("expected an id (an integer or a string of letters and digits), got \(value.briefDescription)")
        }
        return text
    }

    /// A decimal string exactly as given (`"18.50"`), checked against the currency's decimals.
    func decimal(currency: String) throws(TransformError) -> String {
        guard let text = value.stringValue, DecimalText.isPlain(text) else {
            throw error("expected a decimal string like \"18.50\", got \(value.briefDescription)")
        }
        do {
            _ = try Money.parseMinor(text, currency: currency)
        } catch let moneyError as MoneyError {
            throw error("\(value.briefDescription) is not an amount in \(currency): \(moneyError.reason)")
        } catch {
            throw self.error("\(value.briefDescription) is not an amount in \(currency)")
        }
        return text
    }

    /// The amount in minor units of `currency`.
    func amount(currency: String) throws(TransformError) -> Int64 {
        let text = try decimal(currency: currency)
        guard let minor = try? Money.parseMinor(text, currency: currency) else {
            throw error("\(value.briefDescription) is not an amount in \(currency)")
        }
        return minor
    }
}
