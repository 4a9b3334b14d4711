import Foundation
import PatchbayHub
import Testing
@testable import PatchbayConnectors

// MARK: - Helpers

private let configBase = URL(fileURLWithPath: "/etc/patchbay", isDirectory: true)

private func moduleContext(_ environment: [String: String] = [:]) -> ModuleContext {
    ModuleContext(environment: environment, baseDirectory: configBase, transport: nil)
}

private func parseConfig(_ yaml: String, env: [String: String] = [:]) throws -> HubConfig {
    try HubConfig.parse(yaml: yaml, file: "patchbay.yaml", context: moduleContext(env))
}

/// The problems a file is refused with; fails the test when it is accepted.
private func configProblems(_ yaml: String, env: [String: String] = [:],
                            sourceLocation: SourceLocation = #_sourceLocation) -> [ConfigProblem] {
    do {
        _ = try HubConfig.parse(yaml: yaml, file: "patchbay.yaml", context: moduleContext(env))
        Issue.record("the configuration was accepted", sourceLocation: sourceLocation)
        return []
    } catch {
        #expect(error.file == "patchbay.yaml", sourceLocation: sourceLocation)
        return error.problems
    }
}

/// The one problem with this path; fails when there is none or several.
private func problem(_ path: String, in problems: [ConfigProblem],
                     sourceLocation: SourceLocation = #_sourceLocation) -> ConfigProblem? {
    let matching = problems.filter { $0.path == path }
    #expect(matching.count == 1, "expected one problem at \(path) in \(problems)", sourceLocation: sourceLocation)
    return matching.first
}

private func sinkDefinition(subscribe: [String], from: [String], role: ModuleRole = .sink) -> ConnectorDefinition {
    let sink = HTTPSink(url: "https://example.com/hook", transport: DeferredTransport())
    return ConnectorDefinition(
        name: "target", module: "http", role: role, pattern: .hub, system: "http", subscribe: subscribe, from: from,
        concurrency: 1, rateLimit: nil, retry: .default, schedule: nil, path: nil, built: .sink(sink), line: 1)
}

private func utc(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.date(from: text)!
}

private let httpSinkMinimal = """
    connectors:
      target:
        module: http
        url: https://example.com/hook
        subscribe: ["*"]
    """

// MARK: - Tests

@Suite("Configuration file")
struct ConfigTests {
    // MARK: A valid file

    static let validYAML = """
        database: data/patchbay.sqlite
        server:
          listen: 0.0.0.0:9090
          max_body: 512KiB
        delivery:
          lease: 2m
          poll: 250ms
          batch: 50
        retry:
          max_attempts: 10
          base_delay: 30s
          multiplier: 3
          max_delay: 1h
          jitter: 0.5
          max_retry_after: 2d
        retention:
          keep_delivered: 30d
          every: 15m
        log:
          level: debug
          file: hub.log
        connectors:
          shop:
            module: webhook
            signature: shopify
            secret: ${SHOP_SECRET}
            transform: shopify-order
          inventory:
            module: http
            url: https://${INV_HOST}/reservations
            method: PUT
            headers:
              Authorization: Bearer ${INV_TOKEN}
              X-Tenant: acme-${TENANT}
            from: [shop]
            subscribe: [order_created]
            concurrency: 4
            rate_limit: 60/min
            timeout: 45s
            retry: {max_attempts: 3, base_delay: 1s}
          ar:
            module: quickbooks-csv
            path: drop/ar.csv
            currency: eur
            schedule: daily 02:30
          stock:
            module: csv-events
            path: /srv/stock.csv
            topic: stock_changed
            schedule: every 15m
        """

    static let validEnvironment = [
        "SHOP_SECRET": "s3cret", "INV_HOST": "inventory.internal", "INV_TOKEN": "tok-123", "TENANT": "eu",
    ]

    @Test func validFileParsesWithItsValues() throws {
        let config = try parseConfig(Self.validYAML, env: Self.validEnvironment)
        #expect(config.file == "patchbay.yaml")
        #expect(config.database == "data/patchbay.sqlite")
        #expect(config.host == "0.0.0.0")
        #expect(config.port == 9090)
        #expect(config.maxBodyBytes == 512 * 1024)
        #expect(config.lease == 120)
        #expect(config.poll == 0.25)
        #expect(config.claimBatch == 50)
        #expect(config.retry == RetryPolicy(maxAttempts: 10, baseDelay: 30, multiplier: 3, maxDelay: 3600,
                                            jitter: 0.5, maxRetryAfter: 2 * 86400))
        #expect(config.keepDelivered == 2_592_000.0)
        #expect(config.pruneEvery == 15 * 60)
        #expect(config.logLevel == "debug")
        #expect(config.logFile == "hub.log")
        #expect(config.connectors.map(\.name) == ["shop", "inventory", "ar", "stock"])

        let shop = try #require(config.connector(named: "shop"))
        #expect(shop.role == .source)
        #expect(shop.path == "/webhooks/shop")
        #expect(shop.system == "webhook")
        #expect(shop.pattern == .pointToPoint)
        #expect(shop.spec.direction == .source)
        #expect(shop.spec.maxAttempts == nil)
        guard case .source = shop.built else { Issue.record("shop is not built as a source"); return }

        let inventory = try #require(config.connector(named: "inventory"))
        #expect(inventory.role == .sink)
        #expect(inventory.from == ["shop"])
        #expect(inventory.subscribe == ["order_created"])
        #expect(inventory.concurrency == 4)
        #expect(inventory.rateLimit == RateLimit(perSecond: 1, burst: 60))
        // Overrides replace only the keys given; the rest come from the top-level policy.
        #expect(inventory.retry == RetryPolicy(maxAttempts: 3, baseDelay: 1, multiplier: 3, maxDelay: 3600,
                                               jitter: 0.5, maxRetryAfter: 2 * 86400))
        #expect(inventory.spec.maxAttempts == 3)
        #expect(inventory.spec.direction == .sink)
        guard case .sink(let built) = inventory.built, let http = built as? HTTPSink else {
            Issue.record("inventory is not built as an HTTP sink"); return
        }
        #expect(http.url == "https://inventory.internal/reservations")
        #expect(http.method == "PUT")
        #expect(http.headers == ["Authorization": "Bearer tok-123", "X-Tenant": "acme-eu"])
        #expect(http.timeout == .seconds(45))
        #expect(http.idempotencyHeader == "Idempotency-Key")

        let ar = try #require(config.connector(named: "ar"))
        #expect(ar.role == .batch)
        #expect(ar.pattern == .batch)
        #expect(ar.schedule == .daily(hour: 2, minute: 30))
        guard case .batch(let job) = ar.built, let export = job as? InvoiceExportJob else {
            Issue.record("ar is not built as an invoice export"); return
        }
        #expect(export.currency == "EUR")
        #expect(export.format == .quickbooks)
        #expect(export.chunkSize == 500)
        #expect(export.file.path == configBase.appendingPathComponent("drop/ar.csv").path)

        let stock = try #require(config.connector(named: "stock"))
        #expect(stock.schedule == .every(15 * 60))
        guard case .batch(let stockJob) = stock.built, let events = stockJob as? CSVEventsJob else {
            Issue.record("stock is not built as csv-events"); return
        }
        #expect(events.file.path == "/srv/stock.csv")
        #expect(events.topic == "stock_changed")

        #expect(config.targets(topic: "order_created", from: "shop").map(\.name) == ["inventory"])
        #expect(config.targets(topic: "order_paid", from: "shop").isEmpty)
    }

    @Test func defaultsWhenSectionsAreAbsent() throws {
        let config = try parseConfig(httpSinkMinimal)
        #expect(config.host == "127.0.0.1")
        #expect(config.port == 8080)
        #expect(config.maxBodyBytes == 1 << 20)
        #expect(config.lease == 60)
        #expect(config.retry == .default)
        #expect(config.keepDelivered == nil)
        #expect(config.logLevel == "info")
        let target = try #require(config.connector(named: "target"))
        #expect(target.retry == .default)
        #expect(target.concurrency == 1)
        #expect(target.rateLimit == nil)
    }

    // MARK: Each problem, with its key path and line

    @Test func unknownKeyWithDidYouMean() {
        let problems = configProblems("""
            connectors:
              target:
                module: http
                url: https://example.com/hook
                subscribe: ["*"]
                timout: 5s
            """)
        let p = problem("connectors.target.timout", in: problems)
        #expect(p?.line == 6)
        #expect(p?.message == "unknown key (did you mean 'timeout'?)")
        #expect(problems.count == 1)
    }

    @Test func unknownTopLevelAndNestedKeys() {
        let problems = configProblems("""
            servr:
              listen: 127.0.0.1:1
            retry:
              max_atempts: 3
            connectors:
              target:
                module: http
                url: https://example.com/hook
                subscribe: ["*"]
                retry:
                  jiter: 0.1
                  bogus: 1
            """)
        #expect(problem("servr", in: problems)?.line == 1)
        #expect(problem("servr", in: problems)?.message == "unknown key (did you mean 'server'?)")
        #expect(problem("retry.max_atempts", in: problems)?.message == "unknown key (did you mean 'max_attempts'?)")
        #expect(problem("retry.max_atempts", in: problems)?.line == 4)
        #expect(problem("connectors.target.retry.jiter", in: problems)?.line == 11)
        #expect(problem("connectors.target.retry.jiter", in: problems)?.message == "unknown key (did you mean 'jitter'?)")
        // Nothing is close to "bogus": no guess.
        #expect(problem("connectors.target.retry.bogus", in: problems)?.message == "unknown key")
        #expect(problems.count == 4)
    }

    @Test func inlineSecretIsRefused() {
        let problems = configProblems("""
            connectors:
              shop:
                module: webhook
                signature: shopify
                secret: hunter2
            """)
        let p = problem("connectors.shop.secret", in: problems)
        #expect(p?.line == 5)
        #expect(p?.message.contains("must reference an environment variable, like ${SHOP_SECRET}") == true)
        // The refused value itself is never echoed.
        #expect(problems.allSatisfy { !$0.description.contains("hunter2") })
    }

    @Test func secretFromTheEnvironment() throws {
        let yaml = """
            connectors:
              shop:
                module: webhook
                signature: github
                secret: env:GH_SECRET
            """
        let config = try parseConfig(yaml, env: ["GH_SECRET": "x"])
        #expect(config.connectors.count == 1)
        // Set but empty is not a secret.
        let problems = configProblems(yaml, env: ["GH_SECRET": ""])
        #expect(problem("connectors.shop.secret", in: problems)?.message == "environment variable GH_SECRET is not set")
    }

    @Test func unsetEnvironmentVariableIsNamed() {
        let problems = configProblems("""
            connectors:
              shop:
                module: webhook
                signature: shopify
                secret: ${SHOPIFY_WEBHOOK_SECRET}
            """)
        let p = problem("connectors.shop.secret", in: problems)
        #expect(p?.line == 5)
        #expect(p?.message == "environment variable SHOPIFY_WEBHOOK_SECRET is not set")
        #expect(problems.count == 1)
    }

    @Test func leaseShorterThanASinkTimeout() {
        let problems = configProblems("""
            delivery:
              lease: 30s
            connectors:
              slow:
                module: http
                url: https://example.com/hook
                subscribe: ["*"]
                timeout: 30s
            """)
        let p = problem("delivery.lease", in: problems)
        #expect(p?.line == 2)
        #expect(p?.message.contains("connectors.slow.timeout (30s)") == true)
        #expect(p?.message.contains("the lease (30s)") == true)
        #expect(problems.count == 1)
    }

    @Test func defaultLeaseShorterThanASinkTimeoutPointsAtTheTimeout() {
        let problems = configProblems("""
            connectors:
              slow:
                module: exec
                command: [/bin/true]
                subscribe: ["*"]
                timeout: 2m
            """)
        let p = problem("delivery.lease", in: problems)
        #expect(p?.line == 6)
        #expect(p?.message.contains("the lease (1m)") == true)
    }

    @Test func leaseJustLongEnoughIsAccepted() throws {
        // 41 s > 30 s + 1 s; 31 s is not.
        let yaml = { (lease: String) in """
            delivery:
              lease: \(lease)
            connectors:
              target:
                module: http
                url: https://example.com/hook
                subscribe: ["*"]
                timeout: 30s
            """ }
        _ = try parseConfig(yaml("41s"))
        #expect(problem("delivery.lease", in: configProblems(yaml("31s"))) != nil)
    }

    @Test func sinkThatReceivesNothing() {
        let problems = configProblems("""
            connectors:
              lonely:
                module: http
                url: https://example.com/hook
            """)
        let p = problem("connectors.lonely", in: problems)
        // The line of the connector's mapping (its first key).
        #expect(p?.line == 3)
        #expect(p?.message == "a sink must say what it receives: subscribe: [topics] and/or from: [sources] (or be named by alerts.notify)")
        #expect(problems.count == 1)
    }

    @Test func fromNamingAnUnknownSource() {
        let problems = configProblems("""
            connectors:
              shop:
                module: webhook
                signature: none
              target:
                module: http
                url: https://example.com/hook
                from: [shop, shopp]
            """)
        let p = problem("connectors.target.from", in: problems)
        #expect(p?.line == 8)
        #expect(p?.message == "'shopp' is not a source connector of this file")
        #expect(problems.count == 1)
    }

    @Test func fromNamingASinkIsRefused() {
        let problems = configProblems("""
            connectors:
              a:
                module: http
                url: https://example.com/a
                subscribe: ["*"]
              b:
                module: http
                url: https://example.com/b
                from: [a]
            """)
        #expect(problem("connectors.b.from", in: problems)?.message == "'a' is not a source connector of this file")
        #expect(problem("connectors.b.from", in: problems)?.line == 9)
    }

    @Test func fromNamingASourceThatHasItsOwnProblemIsNotASecondProblem() {
        // The source is declared; it failed to build (its secret is missing). The sink's `from` is right.
        let problems = configProblems("""
            connectors:
              shop:
                module: webhook
                signature: shopify
                secret: ${MISSING_SECRET}
              target:
                module: http
                url: https://example.com/hook
                from: [shop]
            """)
        #expect(problems.map(\.path) == ["connectors.shop.secret"], "\(problems)")
    }

    @Test func fromNamingASourceThatFailedToBuildIsNotASecondProblem() {
        // The source is declared but cannot be built (a misspelt scheme): its own problem is enough.
        let problems = configProblems("""
            connectors:
              shop:
                module: webhook
                signature: shopfy
              target:
                module: http
                url: https://example.com/hook
                from: [shop]
            """)
        #expect(problems.map(\.path) == ["connectors.shop.signature"], "\(problems)")
    }

    @Test func twoSourcesOnOnePath() {
        let problems = configProblems("""
            connectors:
              a:
                module: webhook
                signature: none
                path: /hooks/in
              b:
                module: webhook
                signature: none
                path: /hooks/in
              c:
                module: webhook
                signature: none
                path: /webhooks/a
            """)
        let p = problem("connectors.b.path", in: problems)
        #expect(p?.line == 9)
        #expect(p?.message == "'/hooks/in' is already used by a")
        // c chose the path a would have had by default, but a set its own.
        #expect(problems.count == 1)
    }

    @Test func explicitPathCollidingWithADefaultPath() {
        let problems = configProblems("""
            connectors:
              a:
                module: webhook
                signature: none
              b:
                module: webhook
                signature: none
                path: /webhooks/a
            """)
        #expect(problem("connectors.b.path", in: problems)?.message == "'/webhooks/a' is already used by a")
        #expect(problem("connectors.b.path", in: problems)?.line == 8)
    }

    @Test func badPath() {
        let problems = configProblems("""
            connectors:
              a:
                module: webhook
                signature: none
                path: hooks?x=1
            """)
        #expect(problem("connectors.a.path", in: problems)?.line == 5)
    }

    @Test func badDuration() {
        let problems = configProblems("""
            delivery:
              lease: soon
              poll: 5ms
            connectors:
              target:
                module: http
                url: https://example.com/hook
                subscribe: ["*"]
                timeout: -3s
            """)
        let lease = problem("delivery.lease", in: problems)
        #expect(lease?.line == 2)
        #expect(lease?.message.contains("expected a duration like 250ms") == true)
        #expect(lease?.message.contains("found 'soon'") == true)
        // Out of range (at least 10ms).
        #expect(problem("delivery.poll", in: problems)?.line == 3)
        #expect(problem("connectors.target.timeout", in: problems)?.line == 9)
        #expect(problems.count == 3)
    }

    @Test func badSchedule() {
        let problems = configProblems("""
            connectors:
              ar:
                module: quickbooks-csv
                path: ar.csv
                schedule: weekly
              stock:
                module: csv-events
                path: stock.csv
                topic: stock
            """)
        let p = problem("connectors.ar.schedule", in: problems)
        #expect(p?.line == 5)
        #expect(p?.message == "expected 'every 5m', 'hourly' or 'daily 02:30', found 'weekly'")
        let missing = problem("connectors.stock", in: problems)
        #expect(missing?.message == "missing required key 'schedule'")
        #expect(problems.count == 2)
    }

    @Test func badRateLimit() {
        let problems = configProblems("""
            connectors:
              target:
                module: http
                url: https://example.com/hook
                subscribe: ["*"]
                rate_limit: 60/fortnight
            """)
        let p = problem("connectors.target.rate_limit", in: problems)
        #expect(p?.line == 6)
        #expect(p?.message == "expected a rate like 60/min, 5/s or 1000/h, found '60/fortnight'")
    }

    @Test func unknownModuleListsTheKnownOnes() {
        let problems = configProblems("""
            connectors:
              target:
                module: htp
                url: https://example.com/hook
                subscribe: ["*"]
            """)
        let p = problem("connectors.target.module", in: problems)
        #expect(p?.line == 3)
        #expect(p?.message == "no module named 'htp'; known: csv-events, exec, file, http, quickbooks-csv, quickbooks-online, slack, smtp, webhook, xero, xero-csv, xero-invoices-pull")
        // The keys of an unknown module cannot be judged: they are not reported as unknown.
        #expect(problems.count == 1, "\(problems)")
    }

    @Test func missingModule() {
        let problems = configProblems("""
            connectors:
              target:
                url: https://example.com/hook
            """)
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.path == "connectors.target")
        #expect(problems.first?.message == "missing required key 'module'")
    }

    @Test func invalidYAMLWithItsLine() {
        let problems = configProblems("""
            connectors:
              target:
                module: http
                  url: https://example.com/hook
            """)
        #expect(problems.count == 1)
        #expect(problems.first?.line == 4)
        #expect(problems.first?.message.hasPrefix("not valid YAML:") == true)
    }

    @Test func duplicateKey() {
        let problems = configProblems("""
            connectors:
              target:
                module: http
                url: https://example.com/a
                subscribe: ["*"]
                url: https://example.com/b
            """)
        #expect(problems.count == 1, "\(problems)")
        let p = try? #require(problems.first)
        #expect(p?.path == "connectors.target.url")
        #expect(p?.line == 6)
        #expect(p?.message == "appears twice in the same mapping (first on line 4)")
        // One line of text: the whole file is not pasted into the message.
        #expect(p?.description.contains("\n") == false)
    }

    @Test func duplicateKeyInsideAListItemAndAtTheTop() {
        let inList = configProblems("""
            connectors:
              target:
                module: http
                url: https://example.com/a
                subscribe: ["*"]
                headers:
                  - name: a
                    # the same key again
                    name: b
            """)
        #expect(inList.map(\.path) == ["connectors.target.headers.name"], "\(inList)")
        #expect(inList.map(\.line) == [9])

        let top = configProblems("connectors: {}\nlog: {level: info}\nconnectors: {}\n")
        #expect(top.map(\.path) == ["connectors"], "\(top)")
        #expect(top.map(\.line) == [3])

        // A flow mapping is beyond the text scan: Yams's own report, still with a line.
        let flow = configProblems("connectors: {a: 1, a: 2}\n")
        #expect(flow.count == 1)
        #expect(flow.first?.line == 1)
        #expect(flow.first?.message.hasPrefix("appears twice") == true)
    }

    @Test func missingConnectors() {
        let problems = configProblems("log: {level: info}\n")
        #expect(problems.map(\.message) == ["missing required key 'connectors'"])
        let empty = configProblems("connectors: {}\n")
        #expect(empty.map(\.message) == ["no connectors are declared"])
    }

    @Test func badValuesOfEveryKind() {
        let problems = configProblems("""
            server:
              listen: localhost
              max_body: 99999999999999999KiB
            delivery:
              batch: lots
            retry:
              jitter: 2
            log:
              level: loud
            connectors:
              bad name!:
                module: http
                url: ftp://example.com/hook
                method: GET
                subscribe: ["*"]
                concurrency: 0
            """)
        #expect(problem("server.listen", in: problems)?.line == 2)
        // A size that overflows is out of range, not a crash.
        #expect(problem("server.max_body", in: problems)?.line == 3)
        #expect(problem("delivery.batch", in: problems)?.line == 5)
        #expect(problem("retry.jitter", in: problems)?.line == 7)
        #expect(problem("log.level", in: problems)?.message == "'loud' is not one of trace, debug, info, notice, warning, error, critical")
        #expect(problem("connectors.bad name!", in: problems)?.message == "connector names use letters, digits, - and _ (at most 64)")
        #expect(problem("connectors.bad name!.url", in: problems)?.message == "expected an http:// or https:// URL, found 'ftp://example.com/hook'")
        #expect(problem("connectors.bad name!.method", in: problems)?.line == 14)
        #expect(problem("connectors.bad name!.concurrency", in: problems)?.line == 16)
        #expect(problems.count == 9, "\(problems)")
    }

    // MARK: All at once

    @Test func everyProblemIsReportedAtOnce() {
        let problems = configProblems("""
            delivery:
              lease: 20s
            connectors:
              shop:
                module: webhook
                signature: shopify
                secret: hunter2
              shop2:
                module: webhook
                signature: shopify
                secret: ${NOPE}
                path: /webhooks/shop
              inv:
                module: http
                url: https://x.example/a
                timout: 5s
                timeout: 30s
                from: [ghost]
              nothing:
                module: http
                url: https://x.example/b
              job:
                module: quickbooks-csv
                path: a.csv
                schedule: weekly
              rl:
                module: http
                url: https://x.example/c
                subscribe: ["*"]
                rate_limit: 60/fortnight
                retry: {base_delay: soon}
              bad:
                module: htp
                url: https://x.example/d
            """)
        let found = problems.map { "\($0.line ?? 0) \($0.path)" }
        #expect(found == [
            "2 delivery.lease",
            "7 connectors.shop.secret",
            "11 connectors.shop2.secret",
            "12 connectors.shop2.path",
            "16 connectors.inv.timout",
            "18 connectors.inv.from",
            "20 connectors.nothing",
            "25 connectors.job.schedule",
            "30 connectors.rl.rate_limit",
            "31 connectors.rl.retry.base_delay",
            "33 connectors.bad.module",
        ])
        let error = ConfigError(file: "patchbay.yaml", problems: problems)
        #expect(error.description.hasPrefix("patchbay.yaml: 11 problems\n"))
        #expect(error.description.contains("  patchbay.yaml:16: connectors.inv.timout: unknown key (did you mean 'timeout'?)"))
    }

    // MARK: Interpolation and credentials

    @Test func interpolationInURLAndHeaders() throws {
        let config = try parseConfig("""
            connectors:
              target:
                module: http
                url: https://${HOST}:${PORT}/v1/${PATH_PART}?tenant=${TENANT}
                headers:
                  X-API-Key: ${KEY}
                  X-Static: plain
                  X-Mixed: a-${TENANT}-b
                subscribe: ["*"]
            """, env: ["HOST": "api.example.com", "PORT": "8443", "PATH_PART": "orders", "TENANT": "t1", "KEY": "k"])
        guard case .sink(let built) = try #require(config.connector(named: "target")).built,
              let http = built as? HTTPSink else { Issue.record("not an HTTP sink"); return }
        #expect(http.url == "https://api.example.com:8443/v1/orders?tenant=t1")
        #expect(http.headers == ["X-API-Key": "k", "X-Static": "plain", "X-Mixed": "a-t1-b"])
    }

    @Test func interpolationProblems() {
        let problems = configProblems("""
            connectors:
              a:
                module: http
                url: https://${API_HOST}/x
                subscribe: ["*"]
              b:
                module: http
                url: https://${1BAD}/x
                subscribe: ["*"]
              c:
                module: http
                url: https://${HOST/x
                subscribe: ["*"]
              d:
                module: http
                url: https://example.com/x
                headers:
                  X-Tenant: ${TENANT_ID}
                subscribe: ["*"]
            """)
        #expect(problem("connectors.a.url", in: problems)?.message == "environment variable API_HOST is not set")
        #expect(problem("connectors.a.url", in: problems)?.line == 4)
        #expect(problem("connectors.b.url", in: problems)?.message == "'${1BAD}' is not an environment variable name")
        #expect(problem("connectors.c.url", in: problems)?.message.hasPrefix("unclosed ${") == true)
        #expect(problem("connectors.d.headers", in: problems)?.message == "environment variable TENANT_ID is not set")
        #expect(problem("connectors.d.headers", in: problems)?.line == 18)
        #expect(problems.count == 4, "\(problems)")
    }

    @Test func literalCredentialHeadersAreRefused() {
        let problems = configProblems("""
            connectors:
              a:
                module: http
                url: https://example.com/x
                headers:
                  Authorization: Bearer abc123
                subscribe: ["*"]
              b:
                module: http
                url: https://example.com/x
                headers:
                  cookie: session=1
                subscribe: ["*"]
            """)
        let a = problem("connectors.a.headers", in: problems)
        #expect(a?.line == 6)
        #expect(a?.message == "Authorization holds a credential: reference an environment variable, like 'Bearer ${API_TOKEN}'")
        #expect(problem("connectors.b.headers", in: problems)?.message.hasPrefix("cookie holds a credential") == true)
        #expect(problems.allSatisfy { !$0.description.contains("abc123") })
        #expect(problems.count == 2)
    }

    @Test func loadReadsAFileAndReportsItsPath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("patchbay-config-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("patchbay.yaml")
        try Data("""
            connectors:
              files:
                module: file
                directory: out
                subscribe: ["*"]
            """.utf8).write(to: file)
        let config = try HubConfig.load(file: file, environment: [:])
        guard case .sink(let built) = try #require(config.connector(named: "files")).built,
              let sink = built as? FileSink else { Issue.record("not a file sink"); return }
        // Relative paths resolve against the file's directory.
        #expect(sink.directory.standardizedFileURL.path == directory.appendingPathComponent("out").standardizedFileURL.path)
        #expect(sink.prefix == "files")

        do {
            _ = try HubConfig.load(file: directory.appendingPathComponent("missing.yaml"), environment: [:])
            Issue.record("a missing file was accepted")
        } catch {
            #expect(error.file.hasSuffix("missing.yaml"))
            #expect(error.problems.first?.message.hasPrefix("cannot read the file") == true)
        }
    }

    // MARK: Schedule

    @Test func scheduleParse() {
        #expect(Schedule.parse("every 5m") == .every(300))
        #expect(Schedule.parse("every 90s") == .every(90))
        #expect(Schedule.parse("hourly") == .every(3600))
        #expect(Schedule.parse("daily") == .daily(hour: 0, minute: 0))
        #expect(Schedule.parse("daily 02:30") == .daily(hour: 2, minute: 30))
        #expect(Schedule.parse("Daily 2:05") == .daily(hour: 2, minute: 5))
        #expect(Schedule.parse("daily 23:59") == .daily(hour: 23, minute: 59))
        for bad in ["", "weekly", "every", "every 500ms", "every 0s", "every soon", "every 5m now", "daily 24:00",
                    "daily 12:60", "daily 2", "daily -1:30", "hourly 2", "daily 02:30 UTC"] {
            #expect(Schedule.parse(bad) == nil, "\(bad)")
        }
        #expect(Schedule.every(300).description == "every 5m")
        #expect(Schedule.every(3600).description == "hourly")
        #expect(Schedule.daily(hour: 2, minute: 5).description == "daily 02:05")
    }

    @Test func scheduleNextForEvery() {
        let now = utc("2026-11-25T10:00:00Z")
        let every = Schedule.every(300)
        // Never ran: now.
        #expect(every.next(after: nil, now: now) == now)
        #expect(every.next(after: now.addingTimeInterval(-60), now: now) == now.addingTimeInterval(240))
        // Down past several periods: one run now (the time is in the past), not one per missed period.
        let long = now.addingTimeInterval(-3600)
        #expect(every.next(after: long, now: now) == long.addingTimeInterval(300))
        #expect(every.next(after: long, now: now) <= now)
    }

    @Test func scheduleNextForDaily() {
        let daily = Schedule.daily(hour: 2, minute: 30)
        // Never ran, before today's time: today's.
        #expect(daily.next(after: nil, now: utc("2026-11-25T01:00:00Z")) == utc("2026-11-25T02:30:00Z"))
        // Never ran, after today's time: tomorrow's.
        #expect(daily.next(after: nil, now: utc("2026-11-25T03:00:00Z")) == utc("2026-11-26T02:30:00Z"))
        // Exactly at the time: now.
        #expect(daily.next(after: nil, now: utc("2026-11-25T02:30:00Z")) == utc("2026-11-25T02:30:00Z"))
        // Ran today at its time: tomorrow.
        #expect(daily.next(after: utc("2026-11-25T02:30:01Z"), now: utc("2026-11-25T09:00:00Z"))
                == utc("2026-11-26T02:30:00Z"))
        // Ran yesterday, hub down through today's time: due (today's time, already past).
        #expect(daily.next(after: utc("2026-11-24T02:30:01Z"), now: utc("2026-11-25T09:00:00Z"))
                == utc("2026-11-25T02:30:00Z"))
        // Ran yesterday, before today's time: today's.
        #expect(daily.next(after: utc("2026-11-24T02:30:01Z"), now: utc("2026-11-25T01:00:00Z"))
                == utc("2026-11-25T02:30:00Z"))
        // Midnight, across a month end.
        #expect(Schedule.daily(hour: 0, minute: 0).next(after: utc("2026-11-30T00:00:05Z"), now: utc("2026-11-30T12:00:00Z"))
                == utc("2026-12-01T00:00:00Z"))
    }

    // MARK: Rates and values

    @Test func rateLimitParse() throws {
        #expect(RateLimit.parse("60/min") == RateLimit(perSecond: 1, burst: 60))
        #expect(RateLimit.parse("5/s") == RateLimit(perSecond: 5, burst: 5))
        #expect(RateLimit.parse("10/second") == RateLimit(perSecond: 10, burst: 10))
        #expect(RateLimit.parse(" 120 / m ") == RateLimit(perSecond: 2, burst: 120))
        let hourly = try #require(RateLimit.parse("1000/h"))
        #expect(abs(hourly.perSecond - 1000.0 / 3600) < 1e-12)
        #expect(hourly.burst == 1000)
        // Burst is capped, and at least one token.
        #expect(RateLimit.parse("5000/hour")?.burst == 1000)
        #expect(RateLimit.parse("0.5/s") == RateLimit(perSecond: 0.5, burst: 1))
        for bad in ["", "60", "0/s", "-1/s", "60/day", "a/s", "60/min/x", "inf/s", "nan/s", "1e999/s", "/s"] {
            #expect(RateLimit.parse(bad) == nil, "\(bad)")
        }
    }

    @Test func durationParse() {
        #expect(OptionReader.parseDuration("250ms") == 0.25)
        #expect(OptionReader.parseDuration("10s") == 10)
        #expect(OptionReader.parseDuration("5m") == 300)
        #expect(OptionReader.parseDuration("2h") == 7200)
        #expect(OptionReader.parseDuration("30d") == 2_592_000.0)
        #expect(OptionReader.parseDuration("1.5") == 1.5)
        #expect(OptionReader.parseDuration(" 3s ") == 3)
        // Weeks, like the command line and the dashboard (one parser for all three).
        #expect(OptionReader.parseDuration("5w") == 3_024_000)
        for bad in ["", "ms", "s", "-1s", "5 minutes", "soon", "nan", "infs", "1e12d"] {
            #expect(OptionReader.parseDuration(bad) == nil, "\(bad)")
        }
        #expect(OptionReader.format(0.25) == "250ms")
        #expect(OptionReader.format(90) == "90s")
        #expect(OptionReader.format(7200) == "2h")
        #expect(OptionReader.format(86400) == "1d")
    }

    @Test func didYouMeanOnlySuggestsCloseKeys() {
        #expect(OptionReader.closest("timout", in: ["timeout", "url"]) == "timeout")
        #expect(OptionReader.closest("urls", in: ["timeout", "url"]) == "url")
        #expect(OptionReader.closest("banana", in: ["timeout", "url"]) == nil)
        #expect(OptionReader.closest("x", in: []) == nil)
    }

    // MARK: Routing

    @Test func routingTruthTable() {
        // (subscribe, from, topic, source) -> receives
        let cases: [([String], [String], String, String, Bool)] = [
            ([], [], "t", "s", false),                 // a sink that names nothing receives nothing
            (["t"], [], "t", "s", true),               // topic, any source
            (["t"], [], "u", "s", false),
            (["*"], [], "anything", "s", true),
            (["t", "*"], [], "u", "s", true),
            ([], ["s"], "t", "s", true),               // source, any topic
            ([], ["s"], "t", "other", false),
            ([], ["s", "s2"], "t", "s2", true),
            (["t"], ["s"], "t", "s", true),            // both must match
            (["t"], ["s"], "u", "s", false),
            (["t"], ["s"], "t", "other", false),
            (["*"], ["s"], "x", "s", true),
            (["*"], ["s"], "x", "other", false),
        ]
        for (subscribe, from, topic, source, expected) in cases {
            #expect(sinkDefinition(subscribe: subscribe, from: from).receives(topic: topic, from: source) == expected,
                    "subscribe \(subscribe) from \(from): \(topic) from \(source)")
        }
        // Only sinks receive.
        #expect(!sinkDefinition(subscribe: ["*"], from: [], role: .source).receives(topic: "t", from: "s"))
        #expect(!sinkDefinition(subscribe: ["*"], from: [], role: .batch).receives(topic: "t", from: "s"))
    }

    @Test func targetsFanOutToEveryMatchingSink() throws {
        let config = try parseConfig("""
            connectors:
              shop:
                module: webhook
                signature: none
              crm:
                module: webhook
                signature: none
              all:
                module: http
                url: https://example.com/all
                subscribe: ["*"]
              orders:
                module: http
                url: https://example.com/orders
                subscribe: [order_created]
              from-shop:
                module: http
                url: https://example.com/shop
                from: [shop]
            """)
        #expect(config.targets(topic: "order_created", from: "shop").map(\.name) == ["all", "orders", "from-shop"])
        #expect(config.targets(topic: "order_created", from: "crm").map(\.name) == ["all", "orders"])
        #expect(config.targets(topic: "contact_created", from: "crm").map(\.name) == ["all"])
        #expect(config.targets(topic: "contact_created", from: "shop").map(\.name) == ["all", "from-shop"])
    }
}
