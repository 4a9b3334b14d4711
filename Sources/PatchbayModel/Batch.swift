import Foundation
import PatchbayValues

/// Where a resumable batch run stands.
public struct BatchRunCursor: Sendable, Equatable {
    public var runId: Int64
    /// Rows already committed by this run (0 for a new run).
    public var rowsDone: Int
    public var resumed: Bool

    public init(runId: Int64, rowsDone: Int, resumed: Bool) {
        self.runId = runId
        self.rowsDone = rowsDone
        self.resumed = resumed
    }

    /// Where a new run over `input` starts when the job's last run (`status`, `input`, `cursor`)
    /// was stopped with its reason: after its committed rows when it failed over the same input
    /// having committed some; nil (start afresh) otherwise. The same rule on every backend.
    public static func resumable(status: String, input last: String?, cursor: String?, over input: String) -> Int? {
        guard status == BatchRunStatus.failed.rawValue, last == input, let done = cursor.flatMap({ Int($0) }), done > 0 else {
            return nil
        }
        return done
    }
}

/// One receivable as an importer read it, before it is stored.
public struct InvoiceInput: Sendable, Equatable {
    /// The accounting system's id, unique per source: the key re-imports update.
    public var externalId: String
    public var number: String
    public var kind: InvoiceKind
    public var customer: String
    /// ISO 4217 code; the amounts are in its minor units.
    public var currency: String
    /// `YYYY-MM-DD`.
    public var issueDate: String
    /// `YYYY-MM-DD`.
    public var dueDate: String
    public var totalMinor: Int64
    /// What is still owed; negative for credit memos and unapplied payments.
    public var openMinor: Int64
    /// Where the row starts in the source file, for messages.
    public var line: Int

    public init(externalId: String, number: String, kind: InvoiceKind, customer: String, currency: String,
                issueDate: String, dueDate: String, totalMinor: Int64, openMinor: Int64, line: Int) {
        self.externalId = externalId
        self.number = number
        self.kind = kind
        self.customer = customer
        self.currency = currency
        self.issueDate = issueDate
        self.dueDate = dueDate
        self.totalMinor = totalMinor
        self.openMinor = openMinor
        self.line = line
    }
}

/// What one import changed.
public struct InvoiceImportSummary: Sendable, Equatable {
    /// The `batch_runs` row that records the import.
    public var runId: Int64
    public var inserted: Int
    public var updated: Int
    public var unchanged: Int
    /// Open invoices of the source that the snapshot no longer lists.
    public var closed: Int
    public var rowsRead: Int

    public init(runId: Int64, inserted: Int, updated: Int, unchanged: Int, closed: Int, rowsRead: Int) {
        self.runId = runId
        self.inserted = inserted
        self.updated = updated
        self.unchanged = unchanged
        self.closed = closed
        self.rowsRead = rowsRead
    }
}

extension InvoiceInput {
    /// The first row a store would refuse, with its line and why; nil when every row is storable.
    /// Readers of invoice files call this before they hand rows over, so that a file is refused
    /// whole, with its name, before a run starts (a chunked run must never stop half way).
    public static func firstProblem(in invoices: [InvoiceInput]) -> (line: Int, message: String)? {
        var lines: [String: Int] = [:]
        lines.reserveCapacity(invoices.count)
        for input in invoices {
            if input.externalId.isEmpty { return (input.line, "the invoice has no id") }
            if let first = lines.updateValue(input.line, forKey: input.externalId) {
                return (input.line, "id '\(input.externalId)' already appears on line \(first)")
            }
            if isBlank(input.customer) { return (input.line, "the customer is empty") }
            if !Currency.isValidCode(input.currency.uppercased()) {
                return (input.line, "currency '\(input.currency)' is not an ISO 4217 code like EUR")
            }
            if CivilDate.dayNumber(input.issueDate) == nil {
                return (input.line, "issue date '\(input.issueDate)' is not a date (YYYY-MM-DD)")
            }
            if CivilDate.dayNumber(input.dueDate) == nil {
                return (input.line, "due date '\(input.dueDate)' is not a date (YYYY-MM-DD)")
            }
        }
        return nil
    }

    /// Throws the first problem, as `line N: why`.
    public static func validate(_ invoices: [InvoiceInput]) throws {
        if let problem = firstProblem(in: invoices) {
            throw StoreError.invalidInput("line \(problem.line): \(problem.message)")
        }
    }

    /// True when the text holds nothing but white space of any kind (U+00A0 and line breaks too):
    /// the one rule for "empty" that the file readers and the stores share.
    public static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { CharacterSet.whitespacesAndNewlines.contains($0) }
    }
}

extension InvoiceInput {
    /// The currency as stored: upper case, whatever the file said.
    public var storedCurrency: String { currency.uppercased() }

    /// The status an imported row is stored with: open while anything is owed, else paid.
    public var storedStatus: InvoiceStatus { openMinor != 0 ? .open : .paid }
}

/// An invoice as an import finds it stored: the fields it compares before it rewrites a row.
public struct StoredInvoice: Sendable, Equatable {
    public var id: Int64
    public var externalId: String
    public var number: String
    public var kind: String
    public var customer: String
    public var currency: String
    public var issueDate: String
    public var dueDate: String
    public var totalMinor: Int64
    public var openMinor: Int64
    /// Nil for a status this Patchbay does not know: such a row never matches, so it is rewritten.
    public var status: InvoiceStatus?

    public init(id: Int64, externalId: String, number: String, kind: String, customer: String, currency: String,
                issueDate: String, dueDate: String, totalMinor: Int64, openMinor: Int64, status: InvoiceStatus?) {
        self.id = id
        self.externalId = externalId
        self.number = number
        self.kind = kind
        self.customer = customer
        self.currency = currency
        self.issueDate = issueDate
        self.dueDate = dueDate
        self.totalMinor = totalMinor
        self.openMinor = openMinor
        self.status = status
    }

    /// True when storing `input` would change no field: the import leaves the row (and its
    /// `synced_at`) alone and counts it unchanged.
    public func matches(_ input: InvoiceInput) -> Bool {
        number == input.number && kind == input.kind.rawValue && customer == input.customer
            && currency == input.storedCurrency && issueDate == input.issueDate && dueDate == input.dueDate
            && totalMinor == input.totalMinor && openMinor == input.openMinor && status == input.storedStatus
    }

    /// Still owed, or marked open: what a snapshot that no longer lists it closes. An invoice
    /// already settled keeps its status.
    public var isClosable: Bool { openMinor != 0 || status == .open }
}

/// What a whole-file import writes, decided from the file and the source's stored invoices, the
/// same way on every backend; the backend only runs the writes and records the run.
public struct InvoiceImportPlan: Sendable {
    public enum Write: Sendable, Equatable {
        case insert(InvoiceInput)
        /// The stored row `id` takes the input's fields.
        case update(id: Int64, InvoiceInput)
    }

    /// In the file's order (ids of new rows grow in it).
    public private(set) var writes: [Write] = []
    /// Stored invoices a snapshot no longer lists and that are still open, by id; empty without a snapshot.
    public private(set) var closing: [Int64] = []
    /// The counts; `runId` is the backend's to set once it has recorded the run.
    public private(set) var summary: InvoiceImportSummary

    public init(_ invoices: [InvoiceInput], stored: [StoredInvoice], snapshot: Bool) {
        var existing: [String: StoredInvoice] = [:]
        for invoice in stored { existing[invoice.externalId] = invoice }
        summary = InvoiceImportSummary(runId: 0, inserted: 0, updated: 0, unchanged: 0, closed: 0,
                                       rowsRead: invoices.count)
        for input in invoices {
            if let found = existing.removeValue(forKey: input.externalId) {
                if found.matches(input) {
                    summary.unchanged += 1
                } else {
                    writes.append(.update(id: found.id, input))
                    summary.updated += 1
                }
            } else {
                writes.append(.insert(input))
                summary.inserted += 1
            }
        }
        if snapshot {
            // What is left in `existing` is what this snapshot no longer lists.
            closing = existing.values.filter(\.isClosable).map(\.id).sorted()
            summary.closed = closing.count
        }
    }
}
