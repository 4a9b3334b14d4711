import Foundation
import PatchbayStore

/// The three kinds of open A/R item the QuickBooks Online Accounting API is asked for, in the order a
/// run reads them: what customers owe, and what reduces it.
public enum QuickBooksEntity: String, CaseIterable, Sendable {
    case invoice = "Invoice"
    case creditMemo = "CreditMemo"
    case payment = "Payment"

    /// The open items of this entity. QuickBooks reports credit memos' and payments' amounts as
    /// positive numbers; `QuickBooksRecord` makes them negative, as the A/R Aging Detail report shows them.
    var filter: String {
        switch self {
        case .invoice, .creditMemo: return "Balance > '0'"
        case .payment: return "UnappliedAmt > '0'"
        }
    }

    /// `select * from Invoice where Balance > '0' ORDERBY Id STARTPOSITION 1 MAXRESULTS 100`: ordered
    /// by id, so that positions are stable between pages and a resumed run.
    func page(start: Int, size: Int) -> String {
        "select * from \(rawValue) where \(filter) ORDERBY Id STARTPOSITION \(start) MAXRESULTS \(size)"
    }

    /// How many open items there are (read when a run resumes, to find the entity its cursor is in).
    var count: String { "select count(*) from \(rawValue) where \(filter)" }
}

/// Why a QuickBooks answer cannot be read, with the entity and id of what is wrong.
struct QuickBooksDataError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Reads the Accounting API's query answers:
/// `{"QueryResponse": {"Invoice": [...], "startPosition": 1, "maxResults": 3}, "time": "..."}`,
/// `{"QueryResponse": {"totalCount": 12}}`, and faults (`{"Fault": {"Error": [{"Message", "Detail",
/// "code"}], "type"}}`, lower-case `fault`/`error` on authentication failures).
enum QuickBooksResponse {
    static func object(_ body: [UInt8]) throws -> [String: Any] {
        guard let value = try? JSONSerialization.jsonObject(with: Data(body)),
              let object = value as? [String: Any] else {
            throw QuickBooksDataError(message: "the answer is not a JSON object: \(excerpt(body))")
        }
        return object
    }

    /// The rows of one page (none when `QueryResponse` lists nothing: QuickBooks then omits the key).
    static func rows(_ body: [UInt8], entity: QuickBooksEntity) throws -> [[String: Any]] {
        let object = try object(body)
        guard let response = object["QueryResponse"] as? [String: Any] else {
            throw QuickBooksDataError(message: "the answer has no QueryResponse: \(excerpt(body))")
        }
        guard let list = response[entity.rawValue] else { return [] }
        guard let rows = list as? [[String: Any]] else {
            throw QuickBooksDataError(message: "QueryResponse.\(entity.rawValue) is not a list")
        }
        return rows
    }

    static func totalCount(_ body: [UInt8]) throws -> Int {
        let object = try object(body)
        guard let response = object["QueryResponse"] as? [String: Any] else {
            throw QuickBooksDataError(message: "the answer has no QueryResponse: \(excerpt(body))")
        }
        return (response["totalCount"] as? NSNumber)?.intValue ?? 0
    }

    /// `Message: Detail (code N)` of the first error of a fault, or an excerpt of the body.
    static func fault(_ body: [UInt8]) -> String {
        if let object = try? object(body),
           let fault = (object["Fault"] ?? object["fault"]) as? [String: Any],
           let first = ((fault["Error"] ?? fault["error"]) as? [[String: Any]])?.first {
            let message = (first["Message"] ?? first["message"]) as? String ?? ""
            let detail = (first["Detail"] ?? first["detail"]) as? String ?? ""
            let code = first["code"] as? String
            var text = [message, detail].filter { !$0.isEmpty }.joined(separator: ": ")
            if let code { text += " (code \(code))" }
            if !text.isEmpty { return text }
        }
        return excerpt(body)
    }

    static func excerpt(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        return body.count > 300 ? text + "…" : text
    }
}

/// One QuickBooks transaction as an `InvoiceInput`, read the way the A/R Aging Detail export reads:
/// invoices positive, credit memos and unapplied payments negative, an absent due date meaning due on
/// the transaction date, the customer's display name as the customer.
enum QuickBooksRecord {
    static func input(_ row: [String: Any], entity: QuickBooksEntity, defaultCurrency: String,
                      position: Int) throws -> InvoiceInput {
        let id = (row["Id"] as? String) ?? (row["Id"] as? NSNumber)?.stringValue ?? ""
        let what = "\(entity.rawValue) \(id.isEmpty ? "at position \(position)" : "Id \(id)")"
        guard !id.isEmpty else { throw QuickBooksDataError(message: "\(what) has no Id") }
        let currency = ((row["CurrencyRef"] as? [String: Any])?["value"] as? String)?.uppercased() ?? defaultCurrency
        guard Currency.isValidCode(currency) else {
            throw QuickBooksDataError(message: "\(what): CurrencyRef '\(currency)' is not an ISO 4217 code")
        }
        guard let customer = (row["CustomerRef"] as? [String: Any])?["name"] as? String,
              !InvoiceInput.isBlank(customer) else {
            throw QuickBooksDataError(message: "\(what) has no CustomerRef.name")
        }
        guard let txnDate = row["TxnDate"] as? String else {
            throw QuickBooksDataError(message: "\(what) has no TxnDate")
        }
        var dueDate = row["DueDate"] as? String ?? txnDate
        func amount(_ key: String) throws -> Int64 {
            guard let number = row[key] as? NSNumber else {
                throw QuickBooksDataError(message: "\(what) has no \(key)")
            }
            do {
                return try Money.parseMinor(Self.decimalText(number), currency: currency)
            } catch {
                throw QuickBooksDataError(message: "\(what): \(key) \(number) is not an amount in \(currency) (\(error))")
            }
        }
        let kind: InvoiceKind
        var total = try amount("TotalAmt")
        var open: Int64
        var number = row["DocNumber"] as? String ?? ""
        switch entity {
        case .invoice:
            kind = .invoice
            open = try amount("Balance")
        case .creditMemo:
            kind = .creditMemo
            open = try amount("Balance")
        case .payment:
            kind = .payment
            open = try amount("UnappliedAmt")
            if number.isEmpty { number = row["PaymentRefNum"] as? String ?? "" }
            dueDate = txnDate
        }
        if entity != .invoice {
            // QuickBooks shows credits as positive amounts; to A/R they reduce what is owed.
            total = -abs(total)
            open = -abs(open)
        }
        let input = InvoiceInput(externalId: "\(entity.rawValue.lowercased()):\(id)", number: number, kind: kind,
                            customer: customer, currency: currency, issueDate: txnDate, dueDate: dueDate,
                            totalMinor: total, openMinor: open, line: position)
        // Dates and the rest are checked as the store checks them, before any page is written.
        if let problem = InvoiceInput.firstProblem(in: [input]) {
            throw QuickBooksDataError(message: "\(what): \(problem.message)")
        }
        return input
    }

    /// A JSON number as decimal text: `1930.74`, never `1.93074e+03`, so `Money.parseMinor` reads it exactly.
    static func decimalText(_ number: NSNumber) -> String {
        let decimal = number.decimalValue
        var rounded = Decimal()
        var source = decimal
        NSDecimalRound(&rounded, &source, 6, .plain)
        return NSDecimalNumber(decimal: rounded).stringValue
    }
}
