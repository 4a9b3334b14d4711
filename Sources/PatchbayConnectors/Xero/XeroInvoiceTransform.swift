import Foundation
import PatchbayStore

/// The canonical order into a Xero `POST /Invoices` request body: `{"Invoices":[{…}]}`, one sales
/// invoice (ACCREC) per order.
///
/// Quantities and unit amounts are written as JSON number tokens straight from the canonical
/// decimal strings (`18.50` stays `18.50`), never through floating point. The topic is unchanged.
public struct XeroInvoiceTransform: PayloadTransform {
    public struct Options: Sendable, Equatable {
        /// The revenue account every line is posted to.
        public var accountCode: String
        /// Xero's tax type for every line (`OUTPUT2`: 20% VAT on income in a UK organisation).
        public var taxType: String
        /// Due date = order date + this many days.
        public var dueInDays: Int
        /// `SHP-` + order number = the invoice number, which Xero keeps unique (so a repeat is refused).
        public var invoiceNumberPrefix: String
        /// `Shopify ` + order name = the reference.
        public var referencePrefix: String
        /// `AUTHORISED` posts the invoice; `DRAFT` leaves it for review.
        public var status: String
        /// `Exclusive` or `NoTax`; an order whose prices include tax is always sent as `Inclusive`.
        public var lineAmountTypes: String

        public init(accountCode: String = "200", taxType: String = "OUTPUT2", dueInDays: Int = 30,
                    invoiceNumberPrefix: String = "SHP-", referencePrefix: String = "Shopify ",
                    status: String = "AUTHORISED", lineAmountTypes: String = "Exclusive") {
            self.accountCode = accountCode
            self.taxType = taxType
            self.dueInDays = dueInDays
            self.invoiceNumberPrefix = invoiceNumberPrefix
            self.referencePrefix = referencePrefix
            self.status = status
            self.lineAmountTypes = lineAmountTypes
        }
    }

    public var options: Options

    public init(options: Options = Options()) {
        self.options = options
    }

    public func apply(topic: String, payload: String) throws(TransformError) -> (topic: String, payload: String) {
        (topic, try request(for: CanonicalOrder.decode(payload)).serialized())
    }

    /// The request body for one order.
    public func request(for order: CanonicalOrder) throws(TransformError) -> JSONValue {
        guard ISO4217.isKnown(order.currency) else {
            throw TransformError(path: "$.currency", message: "unknown ISO 4217 currency code "
                                 + JSONValue.string(order.currency).briefDescription)
        }
        guard let date = CivilDate(order.date) else {
            throw TransformError(path: "$.date", message: "expected a date like \"2026-11-20\", got "
                                 + JSONValue.string(order.date).briefDescription)
        }
        let contactName = order.customer.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !contactName.isEmpty else {
            throw TransformError(path: "$.customer.name", message: "Xero needs a contact name")
        }
        guard !order.lines.isEmpty else {
            throw TransformError(path: "$.lines", message: "an invoice needs at least one line")
        }

        var lineItems: [JSONValue] = []
        for (index, line) in order.lines.enumerated() {
            var item: [String: JSONValue] = [
                "Description": .string(line.description),
                "Quantity": try Self.number(line.quantity, path: "$.lines[\(index)].quantity"),
                "UnitAmount": try Self.number(line.unitPrice, path: "$.lines[\(index)].unit_price"),
                "AccountCode": .string(options.accountCode),
                "TaxType": .string(options.taxType),
            ]
            if let sku = line.sku, !sku.isEmpty { item["ItemCode"] = .string(sku) }
            lineItems.append(.object(item))
        }

        var contact: [String: JSONValue] = ["Name": .string(contactName)]
        if let email = order.customer.email, !email.isEmpty { contact["EmailAddress"] = .string(email) }

        let invoice: [String: JSONValue] = [
            "Type": .string("ACCREC"),
            "Contact": .object(contact),
            "Date": .string(date.text),
            "DueDate": .string(date.adding(days: options.dueInDays).text),
            "Reference": .string(options.referencePrefix + order.name),
            "InvoiceNumber": .string(options.invoiceNumberPrefix + order.number),
            "CurrencyCode": .string(order.currency),
            "Status": .string(options.status),
            "LineAmountTypes": .string(order.taxesIncluded ? "Inclusive" : options.lineAmountTypes),
            "LineItems": .array(lineItems),
        ]
        return .object(["Invoices": .array([.object(invoice)])])
    }

    /// A canonical decimal string as a JSON number token; anything else is refused, so the
    /// string can never inject other JSON.
    private static func number(_ text: String, path: String) throws(TransformError) -> JSONValue {
        guard DecimalText.isPlain(text), let value = JSONValue.number(token: text) else {
            throw TransformError(path: path, message: "expected a decimal string like \"18.50\", got "
                                 + JSONValue.string(text).briefDescription)
        }
        return value
    }
}
