import Foundation
import Testing
@testable import PatchbayConnectors
import TestSupport

private func fixtureText(_ path: String) throws -> String {
    String(decoding: try Data(contentsOf: Fixtures.url(path)), as: UTF8.self)
}

private func shopifyFixture() throws -> JSONValue {
    try JSONValue.parse(fixtureText("shopify/orders-create.json"))
}

/// The Shopify fixture with `edit` applied to its top-level object.
private func editedOrder(_ edit: (inout [String: JSONValue]) -> Void) throws -> String {
    guard var members = try shopifyFixture().objectValue else { throw TransformError(path: "$", message: "fixture") }
    edit(&members)
    return JSONValue.object(members).serialized()
}

/// The Shopify fixture with `edit` applied to line item `index`.
private func editedLine(_ index: Int, _ edit: @escaping (inout [String: JSONValue]) -> Void) throws -> String {
    try editedOrder { order in
        guard var items = order["line_items"]?.arrayValue, var item = items[index].objectValue else { return }
        edit(&item)
        items[index] = .object(item)
        order["line_items"] = .array(items)
    }
}

private func transformError(_ body: () throws(TransformError) -> Void) -> TransformError? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}

private func shopifyError(_ payload: String, topic: String = "orders/create") -> TransformError? {
    transformError { () throws(TransformError) in _ = try ShopifyOrderTransform().apply(topic: topic, payload: payload) }
}

private let expectedOrder = CanonicalOrder(
    id: "shopify:5812734001234", number: "1042", name: "#1042", source: "shopify",
    createdAt: "2026-11-20T09:14:07+01:00", date: "2026-11-20", currency: "EUR",
    customer: .init(id: "shopify:7190022001", name: "Atelier Moreau SARL", email: "ines.moreau@example.fr",
                    company: "Atelier Moreau SARL"),
    billingAddress: .init(line1: "12 rue des Tanneurs", city: "Lyon", postcode: "69002", country: "FR"),
    lines: [
        .init(sku: "MUG-BLU-350", description: "Stoneware mug, blue", quantity: "4", unitPrice: "18.50",
              taxRate: "0.19", taxAmount: "14.06"),
        .init(sku: "TEA-EARLGREY-250", description: "Earl Grey loose leaf 250 g", quantity: "3", unitPrice: "15.00",
              taxRate: "0.19", taxAmount: "8.55"),
    ],
    subtotal: "119.00", totalTax: "22.61", total: "141.61", taxesIncluded: false,
    financialStatus: "paid", tags: ["wholesale"])

@Suite struct CanonicalTransformTests {
    // MARK: Shopify → canonical

    @Test func shopifyFixtureMapsToCanonicalOrder() throws {
        let result = try ShopifyOrderTransform().apply(topic: "orders/create", payload: fixtureText("shopify/orders-create.json"))
        #expect(result.topic == "order_created")
        #expect(try CanonicalOrder.decode(result.payload) == expectedOrder)
    }

    @Test(arguments: [("orders/create", "order_created"), ("orders/updated", "order_updated"),
                      ("orders/paid", "order_paid"), ("orders/cancelled", "order_cancelled")])
    func shopifyTopicsMap(topic: String, expected: String) throws {
        let result = try ShopifyOrderTransform().apply(topic: topic, payload: fixtureText("shopify/orders-create.json"))
        #expect(result.topic == expected)
    }

    @Test func unknownTopicIsRefused() throws {
        let error = try #require(shopifyError(try fixtureText("shopify/orders-create.json"), topic: "products/create"))
        #expect(error.path == "")
        #expect(error.message.contains("unknown Shopify topic \"products/create\""))
    }

    @Test func canonicalJSONIsStableSortedAndSnakeCase() throws {
        let json = expectedOrder.jsonString()
        #expect(json == expectedOrder.jsonString())
        #expect(json.hasPrefix(#"{"billing_address":{"city":"Lyon","country":"FR","line1":"12 rue des Tanneurs","postcode":"69002"},"created_at":"2026-11-20T09:14:07+01:00","currency":"EUR","customer":"#))
        #expect(json.contains(#""unit_price":"18.50""#))
        #expect(json.contains(#""total_tax":"22.61""#))
        #expect(json.contains(#""financial_status":"paid""#))
        #expect(!json.contains("unitPrice"))
        #expect(try CanonicalOrder.decode(json) == expectedOrder)
    }

    @Test func canonicalDecodeNamesThePath() throws {
        var members = try #require(JSONValue.parse(expectedOrder.jsonString()).objectValue)
        var lines = try #require(members["lines"]?.arrayValue)
        var line = try #require(lines[1].objectValue)
        line["unit_price"] = nil
        lines[1] = .object(line)
        members["lines"] = .array(lines)
        let error = try #require(transformError { () throws(TransformError) in
            _ = try CanonicalOrder.decode(JSONValue.object(members).serialized())
        })
        #expect(error.path == "$.lines[1].unit_price")
        #expect(error.message == "required field is missing")
        #expect(transformError { () throws(TransformError) in _ = try CanonicalOrder.decode("not json") }?.path == "$")
    }

    @Test func customerNameFallsBackToPersonWithoutCompany() throws {
        let payload = try editedOrder { order in
            var billing = order["billing_address"]!.objectValue!
            billing["company"] = .null
            order["billing_address"] = .object(billing)
        }
        let order = try ShopifyOrderTransform().order(from: payload)
        #expect(order.customer.name == "Inès Moreau")
        #expect(order.customer.company == nil)
    }

    @Test func guestOrderWithoutCustomerOrBillingUsesEmail() throws {
        let payload = try editedOrder { order in
            order["customer"] = .null
            order["billing_address"] = nil
        }
        let order = try ShopifyOrderTransform().order(from: payload)
        #expect(order.customer == .init(id: nil, name: "ines.moreau@example.fr", email: "ines.moreau@example.fr"))
        #expect(order.billingAddress == nil)
    }

    @Test func tagsSplitOnCommas() throws {
        let payload = try editedOrder { $0["tags"] = .string(" wholesale, vip ,, eu-b2b ") }
        #expect(try ShopifyOrderTransform().order(from: payload).tags == ["wholesale", "vip", "eu-b2b"])
        let empty = try editedOrder { $0["tags"] = .string("") }
        #expect(try ShopifyOrderTransform().order(from: empty).tags == [])
    }

    @Test func severalTaxLinesAreSummedExactly() throws {
        let payload = try editedLine(0) { item in
            item["tax_lines"] = .array([
                .object(["title": .string("GST"), "rate": .number("0.05"), "price": .string("3.70")]),
                .object(["title": .string("PST"), "rate": .number("0.075"), "price": .string("5.55")]),
            ])
        }
        let line = try ShopifyOrderTransform().order(from: payload).lines[0]
        #expect(line.taxRate == "0.125")
        #expect(line.taxAmount == "9.25")
    }

    @Test func untaxedLineHasNoTax() throws {
        let payload = try editedLine(1) { $0["tax_lines"] = .array([]) }
        let line = try ShopifyOrderTransform().order(from: payload).lines[1]
        #expect(line.taxRate == nil && line.taxAmount == nil)
    }

    @Test func shippingBecomesALine() throws {
        let payload = try editedOrder { order in
            order["shipping_lines"] = .array([
                .object(["title": .string("Colissimo"), "price": .string("6.90"),
                         "tax_lines": .array([.object(["rate": .number("0.19"), "price": .string("1.31")])])]),
                .object(["title": .string("Free pickup"), "price": .string("0.00"), "tax_lines": .array([])]),
            ])
        }
        let lines = try ShopifyOrderTransform().order(from: payload).lines
        #expect(lines.count == 3)
        #expect(lines[2] == .init(sku: nil, description: "Shipping: Colissimo", quantity: "1", unitPrice: "6.90",
                                  taxRate: "0.19", taxAmount: "1.31"))
    }

    @Test func dateIsTheCivilDateInTheOrdersOwnOffset() throws {
        // 23:30 at -05:00 is already the next day in UTC; the order's date stays its own.
        let payload = try editedOrder { $0["created_at"] = .string("2026-12-31T23:30:00-05:00") }
        let order = try ShopifyOrderTransform().order(from: payload)
        #expect(order.date == "2026-12-31")
        #expect(order.createdAt == "2026-12-31T23:30:00-05:00")
    }

    // MARK: Shopify errors

    @Test func missingLineItems() throws {
        let error = try #require(shopifyError(try editedOrder { $0["line_items"] = nil }))
        #expect(error == TransformError(path: "$.line_items", message: "required field is missing"))
        let empty = try #require(shopifyError(try editedOrder { $0["line_items"] = .array([]) }))
        #expect(empty.path == "$.line_items")
    }

    @Test func priceAsBooleanOrNumber() throws {
        let boolean = try #require(shopifyError(try editedLine(1) { $0["price"] = .bool(true) }))
        #expect(boolean == TransformError(path: "$.line_items[1].price",
                                          message: "expected a decimal string like \"18.50\", got true"))
        let number = try #require(shopifyError(try editedLine(1) { $0["price"] = .number("15.00") }))
        #expect(number == TransformError(path: "$.line_items[1].price",
                                         message: "expected a decimal string like \"18.50\", got 15.00"))
        let text = try #require(shopifyError(try editedLine(0) { $0["price"] = .string("18,50") }))
        #expect(text.message == "expected a decimal string like \"18.50\", got \"18,50\"")
        #expect(boolean.description == "$.line_items[1].price: expected a decimal string like \"18.50\", got true")
    }

    @Test func negativeOrFractionalQuantity() throws {
        let negative = try #require(shopifyError(try editedLine(0) { $0["quantity"] = .number("-1") }))
        #expect(negative == TransformError(path: "$.line_items[0].quantity",
                                           message: "expected a whole quantity of 0 or more, got -1"))
        let fractional = try #require(shopifyError(try editedLine(1) { $0["quantity"] = .number("1.5") }))
        #expect(fractional.path == "$.line_items[1].quantity")
        let text = try #require(shopifyError(try editedLine(1) { $0["quantity"] = .string("3") }))
        #expect(text.path == "$.line_items[1].quantity")
    }

    @Test func negativePrice() throws {
        let error = try #require(shopifyError(try editedLine(0) { $0["price"] = .string("-18.50") }))
        #expect(error.path == "$.line_items[0].price")
    }

    @Test func unknownOrMalformedCurrency() throws {
        let unknown = try #require(shopifyError(try editedOrder { $0["currency"] = .string("XYZ") }))
        #expect(unknown == TransformError(path: "$.currency", message: "unknown ISO 4217 currency code \"XYZ\""))
        let lower = try #require(shopifyError(try editedOrder { $0["currency"] = .string("eur") }))
        #expect(lower.path == "$.currency")
        let missing = try #require(shopifyError(try editedOrder { $0["currency"] = nil }))
        #expect(missing == TransformError(path: "$.currency", message: "required field is missing"))
    }

    @Test func tooManyDecimalsForTheCurrency() throws {
        // JPY has no minor unit: "18.50" is not a yen amount.
        let error = try #require(shopifyError(try editedOrder { order in
            order["currency"] = .string("JPY")
            order["total_discounts"] = .string("0")
        }))
        #expect(error.path == "$.line_items[0].price")
        #expect(error.message.contains("JPY takes 0 decimals, not 2"))
    }

    @Test func badTaxLine() throws {
        let error = try #require(shopifyError(try editedLine(1) { item in
            item["tax_lines"] = .array([.object(["rate": .string("nineteen"), "price": .string("8.55")])])
        }))
        #expect(error.path == "$.line_items[1].tax_lines[0].rate")
    }

    @Test func createdAtNeedsAnOffset() throws {
        let error = try #require(shopifyError(try editedOrder { $0["created_at"] = .string("2026-11-20T09:14:07") }))
        #expect(error.path == "$.created_at")
        let impossible = try #require(shopifyError(try editedOrder { $0["created_at"] = .string("2026-02-30T09:14:07Z") }))
        #expect(impossible.path == "$.created_at")
    }

    @Test func discountsAreRefusedNotDropped() throws {
        let error = try #require(shopifyError(try editedOrder { $0["total_discounts"] = .string("5.00") }))
        #expect(error.path == "$.total_discounts")
    }

    @Test func notJSONOrNotAnObject() throws {
        #expect(shopifyError("{\"id\": 1,")?.path == "$")
        #expect(shopifyError("")?.path == "$")
        #expect(shopifyError("[1,2]") == TransformError(path: "$", message: "expected an object, got an array"))
        #expect(shopifyError(String(repeating: "[", count: 100_000))?.path == "$")
    }

    @Test func lineItemsOfTheWrongType() throws {
        let error = try #require(shopifyError(try editedOrder { $0["line_items"] = .string("x") }))
        #expect(error == TransformError(path: "$.line_items", message: "expected an array, got \"x\""))
    }

    // MARK: Canonical → Xero

    @Test func xeroRequestMatchesFixture() throws {
        let result = try XeroInvoiceTransform().apply(topic: "order_created", payload: expectedOrder.jsonString())
        #expect(result.topic == "order_created")
        let expected = try JSONValue.parse(fixtureText("xero/invoice-create-request.json"))
        // Number tokens compare as text: 18.50 must stay 18.50, not 18.5.
        #expect(try JSONValue.parse(result.payload) == expected)
        #expect(result.payload.contains(#""UnitAmount":18.50"#))
        #expect(result.payload.contains(#""UnitAmount":15.00"#))
        #expect(result.payload.contains(#""Quantity":4,"#))
    }

    @Test func shopifyThroughCanonicalToXero() throws {
        let canonical = try ShopifyOrderTransform().apply(topic: "orders/create", payload: fixtureText("shopify/orders-create.json"))
        let xero = try XeroInvoiceTransform().apply(topic: canonical.topic, payload: canonical.payload)
        #expect(try JSONValue.parse(xero.payload) == JSONValue.parse(fixtureText("xero/invoice-create-request.json")))
    }

    @Test func xeroOptionsAndDueDateArithmetic() throws {
        var order = expectedOrder
        order.date = "2028-02-15"
        order.lines[0].sku = nil
        order.customer.email = nil
        let options = XeroInvoiceTransform.Options(accountCode: "4000", taxType: "OUTPUT", dueInDays: 14,
                                                   invoiceNumberPrefix: "WEB-", referencePrefix: "",
                                                   status: "DRAFT", lineAmountTypes: "NoTax")
        let request = try XeroInvoiceTransform(options: options).request(for: order)
        let invoice = try #require(request["Invoices"]?[0])
        #expect(invoice["DueDate"] == .string("2028-02-29"))
        #expect(invoice["InvoiceNumber"] == .string("WEB-1042"))
        #expect(invoice["Reference"] == .string("#1042"))
        #expect(invoice["Status"] == .string("DRAFT"))
        #expect(invoice["LineAmountTypes"] == .string("NoTax"))
        #expect(invoice["Contact"] == .object(["Name": .string("Atelier Moreau SARL")]))
        #expect(invoice["LineItems"]?[0]?["ItemCode"] == nil)
        #expect(invoice["LineItems"]?[0]?["AccountCode"] == .string("4000"))

        order.date = "2026-12-15"
        let defaults = try XeroInvoiceTransform().request(for: order)
        #expect(defaults["Invoices"]?[0]?["DueDate"] == .string("2027-01-14"))
    }

    @Test func taxInclusivePricesAreSentAsInclusive() throws {
        var order = expectedOrder
        order.taxesIncluded = true
        let request = try XeroInvoiceTransform().request(for: order)
        #expect(request["Invoices"]?[0]?["LineAmountTypes"] == .string("Inclusive"))
    }

    @Test func amountsCannotInjectJSON() throws {
        var order = expectedOrder
        order.lines[1].unitPrice = #"1,"AccountCode":"999""#
        let error = try #require(transformError { () throws(TransformError) in
            _ = try XeroInvoiceTransform().apply(topic: "order_created", payload: order.jsonString())
        })
        #expect(error.path == "$.lines[1].unit_price")
        order = expectedOrder
        order.lines[0].quantity = "1e3"
        #expect(transformError { () throws(TransformError) in
            _ = try XeroInvoiceTransform().request(for: order)
        }?.path == "$.lines[0].quantity")
    }

    @Test func xeroRefusesBadCanonicalFields() throws {
        var order = expectedOrder
        order.date = "2026-13-01"
        #expect(transformError { () throws(TransformError) in _ = try XeroInvoiceTransform().request(for: order) }?.path == "$.date")
        order = expectedOrder
        order.currency = "ABC"
        #expect(transformError { () throws(TransformError) in _ = try XeroInvoiceTransform().request(for: order) }?.path == "$.currency")
        order = expectedOrder
        order.lines = []
        #expect(transformError { () throws(TransformError) in _ = try XeroInvoiceTransform().request(for: order) }?.path == "$.lines")
    }

    // MARK: JSONValue

    @Test func jsonValueKeepsNumberTokens() throws {
        let value = try JSONValue.parse(#"{"a":18.50,"b":-0.0,"c":1E+3,"d":[true,false,null],"e":"x\"\u00e9\ud83d\ude00/"}"#)
        #expect(value["a"] == .number("18.50"))
        #expect(value["b"] == .number("-0.0"))
        #expect(value["c"] == .number("1E+3"))
        #expect(value["e"] == .string("x\"é😀/"))
        #expect(value.serialized() == #"{"a":18.50,"b":-0.0,"c":1E+3,"d":[true,false,null],"e":"x\"é😀/"}"#)
        #expect(try JSONValue.parse(value.serialized()) == value)
        #expect(JSONValue.string("a\u{0}\n\u{2028}").serialized() == #""a\u0000\n\u2028""#)
    }

    @Test(arguments: ["", " ", "01", "1.", ".5", "-", "+1", "1e", "[1,]", "{\"a\":1,}", "{\"a\":1,\"a\":2}",
                      "\"\\ud800\"", "\"\\x\"", "\"a\nb\"", "tru", "nul", "{} {}", "{'a':1}", "NaN", "[1 2]"])
    func jsonValueRejects(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func jsonValueRejectsInvalidUTF8AndDeepNesting() {
        #expect(throws: JSONParseError.self) { try JSONValue.parse([0x22, 0xFF, 0xFE, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSONValue.parse(String(repeating: "[", count: 200) + String(repeating: "]", count: 200)) }
        #expect((try? JSONValue.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100))) != nil)
        #expect(JSONValue.number(token: "18.50") == .number("18.50"))
        #expect(JSONValue.number(token: "18.50,\"x\":1") == nil)
        #expect(JSONValue.number(token: "") == nil)
    }

    @Test func civilDateArithmetic() throws {
        let date = try #require(CivilDate("2026-11-20"))
        #expect(date.adding(days: 30).text == "2026-12-20")
        #expect(CivilDate("2024-02-29")?.adding(days: 366).text == "2025-03-01")
        #expect(CivilDate("1970-01-01")?.daysSinceEpoch == 0)
        #expect(CivilDate("2100-02-29") == nil)
        #expect(CivilDate("2026-1-20") == nil)
        #expect(DecimalText.add("0.05", "0.075") == "0.125")
        #expect(DecimalText.add("-1.00", "0.25") == "-0.75")
        #expect(DecimalText.add("1e3", "1") == nil)
    }
}
