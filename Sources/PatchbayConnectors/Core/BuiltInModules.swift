import Foundation
import PatchbayStore
import PatchbayHub

extension TransformRegistry {
    /// `shopify-order` (Shopify order webhooks into the canonical order) and `xero-invoice` (the
    /// canonical order into a Xero `Invoices` request, with `account_code`, `tax_type`, `due_in_days`,
    /// `invoice_number_prefix` options).
    public static let builtIn = TransformRegistry([
        "shopify-order": { _ in ShopifyOrderTransform() },
        "xero-invoice": { reader in
            guard let reader else { return XeroInvoiceTransform() }
            return XeroInvoiceTransform(options: .read(reader))
        },
    ])
}

extension XeroInvoiceTransform.Options {
    static func read(_ reader: OptionReader) -> Self {
        var options = Self()
        if let v = reader.string("account_code") { options.accountCode = v }
        if let v = reader.string("tax_type") { options.taxType = v }
        if let v = reader.int("due_in_days", in: 0...365) { options.dueInDays = v }
        if let v = reader.string("invoice_number_prefix") { options.invoiceNumberPrefix = v }
        if let v = reader.string("reference_prefix") { options.referencePrefix = v }
        if let v = reader.oneOf("status", ["DRAFT", "SUBMITTED", "AUTHORISED"]) { options.status = v }
        return options
    }
}

extension ConnectorRegistry {
    /// Every module Patchbay ships. A new module is a folder in this target and one line here.
    public static let builtIn = ConnectorRegistry([
        .webhook, .http, .xero, .file, .exec, .invoiceExport(.quickbooks), .invoiceExport(.xero), .csvEvents,
        .slack, .smtp, .quickbooksOnline, .xeroInvoicesPull,
    ])
}

extension ConnectorModule {
    /// `webhook`: a source receiving signed webhooks on its own path.
    static let webhook = ConnectorModule(name: "webhook", role: .source,
                                         summary: "receives signed webhooks (Shopify, GitHub, Stripe, Standard Webhooks)") { options, context, _ in
        let scheme = options.choice("signature", as: WebhookSignatureScheme.self, required: true)
        var secrets: [String] = []
        if let one = options.secret("secret") { secrets.append(one) }
        if let many = options.strings("secrets") {
            for (i, text) in many.enumerated() {
                guard let name = OptionReader.environmentReference(text) else {
                    options.problem("secrets", "entry \(i + 1) must reference an environment variable, like ${WEBHOOK_SECRET_OLD}")
                    continue
                }
                guard let value = context.environment[name], !value.isEmpty else {
                    options.problem("secrets", "environment variable \(name) is not set")
                    continue
                }
                secrets.append(value)
            }
        }
        if let scheme, scheme != .none, secrets.isEmpty, !options.has("secret"), !options.has("secrets") {
            options.problem(nil, "signature '\(scheme.rawValue)' needs a secret: secret: ${ENV_NAME}")
        }
        let tolerance = options.duration("tolerance", in: 1...86400) ?? 300
        let maxBody = options.byteSize("max_body", in: 1...(4 << 20)) ?? context.defaultMaxBodyBytes
        let fixedTopic = options.string("topic")
        let topicHeader = options.string("topic_header")
        let keyHeader = options.string("key_header")
        let correlation = options.string("correlation_header")
        let replayWindow = options.duration("replay_window", in: 0...(30 * 86400)) ?? 86400
        let transform = context.transforms.transform(from: options)
        guard let scheme, let transform else { return nil }
        var (topic, key) = WebhookConnector.defaults(for: scheme)
        if let fixedTopic { topic = .fixed(fixedTopic) }
        if let topicHeader { topic = .header(topicHeader) }
        if fixedTopic != nil, topicHeader != nil { options.problem("topic", "set topic or topic_header, not both") }
        if let keyHeader { key = .header(keyHeader) }
        return .source(WebhookConnector(
            verifier: WebhookVerifier(scheme: scheme, secrets: secrets, tolerance: tolerance),
            topic: topic, idempotency: key, transform: transform, maxBodyBytes: maxBody, correlationHeader: correlation,
            replayWindow: replayWindow))
    }

    /// `http`: JSON to a URL.
    static let http = ConnectorModule(name: "http", role: .sink, summary: "POSTs or PUTs JSON to a URL") { options, context, _ in
        httpSink(options, context).map { .sink($0) }
    }

    /// `xero`: the canonical order as a Xero invoice, with Xero's errors read and its limits kept.
    static let xero = ConnectorModule(name: "xero", role: .sink,
                                      summary: "creates Xero invoices from canonical orders") { options, context, _ in
        let transform = XeroInvoiceTransform(options: .read(options))
        guard var sink = httpSink(options, context, defaultTimeout: 30, transform: .some(transform)) else { return nil }
        sink.describeError = { status, body in XeroResponse.errorMessage(status: status, body: body) }
        sink.describeRateLimit = { headers in XeroResponse.rateLimitProblem(headers: headers) }
        sink.quota = QuotaBinding(reader: XeroResponse.quota)
        return .sink(sink)
    }

    /// `file`: JSON Lines or CSV files in a directory, one per day.
    static let file = ConnectorModule(name: "file", role: .sink,
                                      summary: "appends JSON Lines or CSV records to daily files") { options, context, name in
        let directory = options.string("directory", required: true)
        let format = options.choice("format", as: FileSink.Format.self) ?? .jsonl
        let columns = options.strings("columns") ?? []
        let prefix = options.string("prefix") ?? name
        let transform = context.transforms.transform(from: options)
        if format == .jsonl, !columns.isEmpty { options.problem("columns", "columns apply to format: csv only") }
        guard let directory, let transform else { return nil }
        return .sink(FileSink(directory: context.resolve(directory), prefix: prefix, format: format, columns: columns,
                              transform: transform))
    }

    /// `exec`: the payload on a command's standard input.
    static let exec = ConnectorModule(name: "exec", role: .sink, summary: "pipes each payload to a command") { options, context, _ in
        // A list is argv, run as is; a single string is a shell command line.
        var command: [String]?
        if case .scalar(let line, _)? = options.node("command") {
            command = ["/bin/sh", "-c", line]
        } else {
            command = options.strings("command")
        }
        if let c = command, c.isEmpty { options.problem("command", "must name a program") }
        if !options.has("command") { options.problem(nil, "missing required key 'command'") }
        let timeout = options.duration("timeout", in: 0.1...3600) ?? 30
        var permanent: Set<Int32> = [64, 65, 66, 78]
        if let codes = options.strings("permanent_exit_codes") {
            permanent = []
            for code in codes {
                if let n = Int32(code), (1...255).contains(n) { permanent.insert(n) } else {
                    options.problem("permanent_exit_codes", "'\(code)' is not an exit status from 1 to 255")
                }
            }
        }
        let directory = options.string("directory").map { context.resolve($0) }
        // The child's environment: the allow-listed basics of the hub's, plus what this connector names.
        var environment = ExecSink.baseEnvironment(from: context.environment)
        var secrets: [String] = []
        for (name, value, _) in options.stringMap("env") ?? [] {
            guard OptionReader.isVariableName(name) else {
                options.problem("env", "'\(name)' is not an environment variable name")
                continue
            }
            if OptionReader.isSecretName(name), !value.contains("${") {
                options.problem("env", "\(name) holds a secret: reference an environment variable, like ${\(name)}")
                continue
            }
            guard let resolved = options.interpolated(value, key: "env") else { continue }
            environment[name] = resolved
            secrets += options.referencedSecrets(value)
            if OptionReader.isSecretName(name) { secrets.append(resolved) }
        }
        let transform = context.transforms.transform(from: options)
        guard let command, !command.isEmpty, let transform else { return nil }
        return .sink(ExecSink(command: command, timeout: .milliseconds(Int64(timeout * 1000)), permanentExitCodes: permanent,
                              transform: transform, workingDirectory: directory, environment: environment,
                              secrets: secrets.uniqued()))
    }

    /// `quickbooks-csv` / `xero-csv`: an A/R export file loaded into the invoices table.
    static func invoiceExport(_ format: InvoiceCSVFormat) -> ConnectorModule {
        ConnectorModule(name: format.rawValue, role: .batch,
                        summary: "loads a \(format == .quickbooks ? "QuickBooks A/R aging" : "Xero sales invoice") export into the invoices table") { options, context, _ in
            let path = options.string("path", required: true)
            let currency = options.string("currency") ?? "USD"
            if !Currency.isValidCode(currency.uppercased()) {
                options.problem("currency", "'\(currency)' is not an ISO 4217 code like EUR")
            }
            let chunk = options.int("chunk", in: 1...100_000) ?? 500
            guard let path else { return nil }
            return .batch(InvoiceExportJob(file: context.resolve(path), format: format, currency: currency.uppercased(),
                                           chunkSize: chunk))
        }
    }

    /// `csv-events`: rows of a CSV file drop published as events on a topic.
    static let csvEvents = ConnectorModule(name: "csv-events", role: .batch,
                                           summary: "publishes the rows of a CSV file drop as events") { options, context, _ in
        let path = options.string("path", required: true)
        let topic = options.string("topic", required: true)
        let chunk = options.int("chunk", in: 1...100_000) ?? 500
        let key = options.string("key_column")
        guard let path, let topic else { return nil }
        return .batch(CSVEventsJob(file: context.resolve(path), topic: topic, chunkSize: chunk, keyColumn: key))
    }
}
