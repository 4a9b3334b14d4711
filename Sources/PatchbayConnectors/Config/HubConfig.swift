import Foundation
import PatchbayInsights
import PatchbayHub
import PatchbayStore

/// When a batch job runs: `every 5m`, `hourly`, `daily 02:30` (UTC).
public enum Schedule: Sendable, Equatable, CustomStringConvertible {
    case every(TimeInterval)
    case daily(hour: Int, minute: Int)

    public static func parse(_ text: String) -> Schedule? {
        let words = text.lowercased().split(separator: " ").map(String.init)
        switch words.first {
        case "hourly" where words.count == 1: return .every(3600)
        case "every" where words.count == 2:
            // At most a year: a schedule of 1e19 s is a typo, and would overflow date arithmetic.
            guard let seconds = OptionReader.parseDuration(words[1]), seconds >= 1, seconds <= 366 * 86400 else { return nil }
            return .every(seconds)
        case "daily" where words.count <= 2:
            guard words.count == 2 else { return .daily(hour: 0, minute: 0) }
            let parts = words[1].split(separator: ":")
            guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m)
            else { return nil }
            return .daily(hour: h, minute: m)
        default: return nil
        }
    }

    /// The next run after the last one (or now, when the job never ran).
    public func next(after last: Date?, now: Date) -> Date {
        switch self {
        case .every(let interval):
            // A hub that was down past a run time runs once at start, not once per missed period.
            guard let last else { return now }
            return last.addingTimeInterval(interval)
        case .daily(let hour, let minute):
            let dayStart = now.startOfUTCDay
            var candidate = dayStart.addingTimeInterval(TimeInterval(hour * 3600 + minute * 60))
            // Today's time if the job has not run since it; else tomorrow's.
            if let last, candidate <= last { candidate = candidate.addingTimeInterval(86400) }
            if last == nil, candidate < now { candidate = candidate.addingTimeInterval(86400) }
            return candidate
        }
    }

    public var description: String {
        switch self {
        case .every(let s): return s == 3600 ? "hourly" : "every \(OptionReader.format(s))"
        case .daily(let h, let m): return String(format: "daily %02d:%02d", h, m)
        }
    }
}

/// A token bucket's settings: `rate_limit: 60/min` (or `/s`, `/h`), with `burst` tokens at most.
public struct RateLimit: Sendable, Equatable {
    public var perSecond: Double
    public var burst: Int

    public static func parse(_ text: String) -> RateLimit? {
        let parts = text.replacingOccurrences(of: " ", with: "").split(separator: "/")
        guard parts.count == 2, let count = Double(parts[0]), count.isFinite, count > 0, count <= 1e6 else { return nil }
        let seconds: Double
        switch parts[1] {
        case "s", "sec", "second": seconds = 1
        case "m", "min", "minute": seconds = 60
        case "h", "hour": seconds = 3600
        default: return nil
        }
        // At least one a day: a slower "limit" is a typo, and would make the worker sleep for ages.
        guard count / seconds >= 1.0 / 86400 else { return nil }
        return RateLimit(perSecond: count / seconds, burst: max(1, Int(min(count, 1000))))
    }
}

/// The retry policy's keys, shared by the top level and each sink.
extension RetryPolicy {
    static func read(_ reader: OptionReader, base: RetryPolicy) -> RetryPolicy {
        var policy = base
        if let v = reader.int("max_attempts", in: 1...1000) { policy.maxAttempts = v }
        if let v = reader.duration("base_delay", in: 0.01...86400) { policy.baseDelay = v }
        if let v = reader.double("multiplier", in: 1...10) { policy.multiplier = v }
        if let v = reader.duration("max_delay", in: 0.01...(7 * 86400)) { policy.maxDelay = v }
        if let v = reader.double("jitter", in: 0...1) { policy.jitter = v }
        if let v = reader.duration("max_retry_after", in: 0...(7 * 86400)) { policy.maxRetryAfter = v }
        reader.finish()
        return policy
    }
}

/// One connector as configured and built.
public struct ConnectorDefinition: Sendable {
    public var name: String
    public var module: String
    public var role: ModuleRole
    public var pattern: IntegrationPattern
    public var system: String
    /// Topics a sink receives (`*` for all); empty with `from` set means every topic of those sources.
    public var subscribe: [String]
    /// Sources a sink receives from; empty means any source.
    public var from: [String]
    public var concurrency: Int
    public var rateLimit: RateLimit?
    public var retry: RetryPolicy
    public var schedule: Schedule?
    /// A sink's circuit breaker; nil when `breaker: off`.
    public var breaker: BreakerPolicy? = .default
    /// The URL path a webhook source listens on.
    public var path: String?
    public var built: BuiltConnector
    public var line: Int?
    /// Lines of the keys cross-checks report on (`from`, `path`, `timeout`).
    public var keyLines: [String: Int] = [:]

    public var spec: ConnectorSpec {
        ConnectorSpec(name: name, module: module, pattern: pattern, system: system,
                      direction: role == .sink ? .sink : .source, maxAttempts: role == .sink ? retry.maxAttempts : nil)
    }

    /// The shortest lease one of this sink's deliveries needs: with `auth: oauth2` a delivery may wait
    /// for a token (another node's refresh, then its own) and send twice (a 401 brings one refresh and
    /// one more send). The runtime claims with the longer of this and `delivery.lease`, so a slow
    /// refresh never lets another worker take a delivery that is still running.
    public var minimumLease: TimeInterval {
        guard case .sink(let target) = built, let http = target as? HTTPSink, http.oauth != nil else { return 0 }
        let timeout = Double(http.timeout.components.seconds) + Double(http.timeout.components.attoseconds) / 1e18
        return 2 * timeout + OAuthBinding.longestTokenWait + 1
    }

    /// Whether an event from `source` on `topic` goes to this sink.
    public func receives(topic: String, from source: String) -> Bool {
        guard role == .sink, !(subscribe.isEmpty && from.isEmpty) else { return false }
        if !from.isEmpty, !from.contains(source) { return false }
        if !subscribe.isEmpty, !subscribe.contains("*"), !subscribe.contains(topic) { return false }
        return true
    }
}

/// `patchbay.yaml`: the whole hub. See README.md, "Configuration".
public struct HubConfig: Sendable {
    public var file: String
    public var database: String?
    public var host: String
    public var port: Int
    public var maxBodyBytes: Int
    /// How long a client has to send a request's headers, from the moment the connection is
    /// ready for one (accepted, or the previous response sent): also the keep-alive idle limit.
    public var headerTimeout: TimeInterval = 10
    /// How long a client has to send a request's body once its headers are in.
    public var bodyTimeout: TimeInterval = 30
    /// The most connections served at once; more wait in the listen backlog. Capped below the
    /// process's descriptor limit so the database and the delivery clients always have some.
    public var maxConnections: Int = 512
    public var lease: TimeInterval
    public var poll: TimeInterval
    public var claimBatch: Int
    public var retry: RetryPolicy
    public var keepDelivered: TimeInterval?
    /// Refused requests older than this are deleted (their counts stay in the rollups).
    public var keepRejected: TimeInterval = 7 * 86400
    /// Per source connector, refusals beyond this rate are counted but not stored one by one.
    public var rejectedDetail = RateLimit(perSecond: 50, burst: 100)
    public var pruneEvery: TimeInterval
    public var logLevel: String
    public var logFile: String?
    public var connectors: [ConnectorDefinition]
    /// `alerts:`: rules and where their notifications go.
    public var alerts = AlertSettings()
    /// The pattern advisor's rules of thumb (`advisor:`), the defaults where the file says nothing.
    public var advisor: AdvisorThresholds = .defaults
    /// The transport the HTTP sinks were built with when none was given: bind a client to it to run.
    public var transport = DeferredTransport()

    public func connector(named name: String) -> ConnectorDefinition? { connectors.first { $0.name == name } }

    /// The sinks an event from `source` on `topic` fans out to.
    public func targets(topic: String, from source: String) -> [ConnectorDefinition] {
        connectors.filter { $0.receives(topic: topic, from: source) }
    }

    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Loads and validates a file; throws every problem found, each with its key path and line.
    public static func load(file: URL, environment: [String: String] = ProcessInfo.processInfo.environment,
                            registry: ConnectorRegistry = .builtIn,
                            transport: (any HTTPTransport)? = nil) throws(ConfigError) -> HubConfig {
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw ConfigError(file: file.path, problems: [ConfigProblem(path: "", line: nil,
                message: "cannot read the file: \((error as NSError).localizedDescription)")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: file.path, problems: [ConfigProblem(path: "", line: nil, message: "the file is not UTF-8 text")])
        }
        let context = ModuleContext(environment: environment, baseDirectory: file.deletingLastPathComponent(),
                                    transport: transport)
        return try parse(yaml: text, file: file.path, context: context, registry: registry)
    }

    public static func parse(yaml: String, file: String, context: ModuleContext,
                             registry: ConnectorRegistry = .builtIn) throws(ConfigError) -> HubConfig {
        let root: ConfigNode
        do {
            root = try ConfigNode.parse(yaml: yaml)
        } catch {
            throw ConfigError(file: file, problems: error.problems)
        }
        let sink = ProblemSink()
        let top = OptionReader(root, path: "", problems: sink, environment: context.environment)
        var config = HubConfig(
            file: file, database: top.string("database"), host: "127.0.0.1", port: 8080, maxBodyBytes: 1 << 20,
            lease: 60, poll: 0.25, claimBatch: 100, retry: .default, keepDelivered: nil, pruneEvery: 3600,
            logLevel: "info", logFile: nil, connectors: [])

        if let server = top.child("server") {
            if let listen = server.string("listen") {
                if let (host, port) = Self.parseListen(listen) { (config.host, config.port) = (host, port) } else {
                    server.problem("listen", "expected HOST:PORT like 127.0.0.1:8080, found '\(listen)'")
                }
            }
            if let v = server.byteSize("max_body", in: 1...(4 << 20)) { config.maxBodyBytes = v }
            if let v = server.duration("header_timeout", in: 0.1...600) { config.headerTimeout = v }
            if let v = server.duration("body_timeout", in: 0.1...3600) { config.bodyTimeout = v }
            if let v = server.int("max_connections", in: 1...100_000) { config.maxConnections = v }
            server.finish()
        }
        var leaseLine: Int?
        if let delivery = top.child("delivery") {
            leaseLine = delivery.line(of: "lease")
            if let v = delivery.duration("lease", in: 1...86400) { config.lease = v }
            if let v = delivery.duration("poll", in: 0.01...60) { config.poll = v }
            if let v = delivery.int("batch", in: 1...10_000) { config.claimBatch = v }
            delivery.finish()
        }
        if let retry = top.child("retry") { config.retry = RetryPolicy.read(retry, base: .default) }
        if let retention = top.child("retention") {
            config.keepDelivered = retention.duration("keep_delivered", in: 60...(3650 * 86400))
            if let v = retention.duration("keep_rejected", in: 60...(3650 * 86400)) { config.keepRejected = v }
            if let text = retention.string("rejected_detail") {
                if let rate = RateLimit.parse(text) { config.rejectedDetail = rate } else {
                    retention.problem("rejected_detail", "expected a rate like 50/s or 1000/min, found '\(text)'")
                }
            }
            if let v = retention.duration("every", in: 1...86400) { config.pruneEvery = v }
            retention.finish()
        }
        if let advisor = top.child("advisor") { config.advisor = readAdvisor(advisor) }
        if let log = top.child("log") {
            if let level = log.oneOf("level", logLevels) { config.logLevel = level }
            config.logFile = log.string("file")
            log.finish()
        }

        let alertsReader = top.child("alerts")
        let alertChannels = alertsReader.map(Self.alertChannelNames) ?? []
        var context = context
        context.defaultMaxBodyBytes = config.maxBodyBytes
        var connectors: [ConnectorDefinition] = []
        // Declared sources, built or not: a sink naming one that has its own problem is not wrong too.
        var declaredSources: Set<String> = []
        if let list = top.child("connectors") {
            for name in list.keys {
                guard let reader = list.child(name) else { continue }
                if let definition = buildConnector(name: name, reader: reader, config: config, context: context,
                                                   registry: registry, alertChannel: alertChannels.contains(name)) {
                    connectors.append(definition)
                }
                if case .scalar(let moduleName, _)? = reader.node("module"),
                   registry.module(named: moduleName)?.role == .source {
                    declaredSources.insert(name)
                }
                reader.finish()
            }
            list.finish()
            if list.keys.isEmpty { list.problem(nil, "no connectors are declared") }
        } else {
            top.problem(nil, "missing required key 'connectors'")
        }
        if let alertsReader { config.alerts = readAlerts(alertsReader, connectors: connectors) }
        top.finish()
        config.connectors = connectors
        config.transport = context.deferredTransport
        crossCheck(config, declaredSources: declaredSources, leaseLine: leaseLine, sink: sink)

        let problems = sink.problems
        if !problems.isEmpty { throw ConfigError(file: file, problems: problems) }
        return config
    }

    /// `advisor:` keys, each overriding one default of `AdvisorThresholds`; unknown keys are refused.
    static func readAdvisor(_ reader: OptionReader) -> AdvisorThresholds {
        var t = AdvisorThresholds.defaults
        if let v = reader.int("point_to_point_max_systems", in: 2...1000) { t.pointToPointMaxSystems = v }
        if let v = reader.int("point_to_point_max_events_per_day", in: 1...1_000_000_000) { t.pointToPointMaxEventsPerDay = Double(v) }
        if let v = reader.int("hub_max_systems", in: 2...1000) { t.hubMaxSystems = v }
        if let v = reader.int("event_driven_min_events_per_day", in: 1...1_000_000_000) { t.eventDrivenMinEventsPerDay = Double(v) }
        if let v = reader.int("fan_out_min_targets", in: 2...1000) { t.fanOutMinTargets = v }
        if let v = reader.duration("realtime_latency", in: 0.001...86400) { t.realtimeLatencyMs = Int64(v * 1000) }
        if let v = reader.duration("batch_min_interval", in: 1...(31 * 86400)) { t.batchMinIntervalMinutes = v / 60 }
        if let v = reader.int("redundancy_min_events_per_day", in: 1...1_000_000_000) { t.redundancyMinEventsPerDay = Double(v) }
        if let v = reader.int("growth_min_days", in: 2...3650) { t.growthMinDays = v }
        if let v = reader.double("flat_growth_percent", in: 0...1000) { t.flatGrowthPercent = v }
        if let v = reader.int("growth_horizon_weeks", in: 1...1040) { t.growthHorizonWeeks = Double(v) }
        if t.pointToPointMaxSystems > t.hubMaxSystems {
            reader.problem("point_to_point_max_systems",
                           "must not exceed hub_max_systems (\(t.hubMaxSystems)), found \(t.pointToPointMaxSystems)")
        }
        if t.pointToPointMaxEventsPerDay > t.eventDrivenMinEventsPerDay {
            reader.problem("point_to_point_max_events_per_day",
                           "must not exceed event_driven_min_events_per_day (\(Int(t.eventDrivenMinEventsPerDay)))")
        }
        reader.finish()
        return t
    }

    public static func parseListenAddress(_ text: String) -> (String, Int)? { parseListen(text) }

    static func parseListen(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    private static func buildConnector(name: String, reader: OptionReader, config: HubConfig, context: ModuleContext,
                                       registry: ConnectorRegistry, alertChannel: Bool) -> ConnectorDefinition? {
        if name.isEmpty || name.count > 64 || !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) {
            reader.problem(nil, "connector names use letters, digits, - and _ (at most 64)")
        }
        guard let moduleName = reader.string("module", required: true) else {
            reader.ignoreRemainingKeys()
            return nil
        }
        guard let module = registry.module(named: moduleName) else {
            reader.problem("module", "no module named '\(moduleName)'; known: \(registry.names.joined(separator: ", "))")
            // Which keys are valid depends on the module: flagging them all as unknown would be noise.
            reader.ignoreRemainingKeys()
            return nil
        }
        let pattern = reader.choice("pattern", as: IntegrationPattern.self)
            ?? (module.role == .batch ? .batch : .pointToPoint)
        let system = reader.string("system") ?? moduleName
        var subscribe: [String] = []
        var from: [String] = []
        var concurrency = 1
        var rateLimit: RateLimit?
        var retry = config.retry
        var schedule: Schedule?
        var path: String?
        var breaker: BreakerPolicy?
        switch module.role {
        case .sink:
            subscribe = reader.strings("subscribe") ?? []
            from = reader.strings("from") ?? []
            if subscribe.isEmpty && from.isEmpty && !alertChannel {
                reader.problem(nil, "a sink must say what it receives: subscribe: [topics] and/or from: [sources] "
                               + "(or be named by alerts.notify)")
            }
            concurrency = reader.int("concurrency", in: 1...256) ?? 1
            if let text = reader.string("rate_limit") {
                if let limit = RateLimit.parse(text) { rateLimit = limit } else {
                    reader.problem("rate_limit", "expected a rate like 60/min, 5/s or 1000/h, found '\(text)'")
                }
            }
            if let r = reader.child("retry") { retry = RetryPolicy.read(r, base: config.retry) }
            breaker = readBreaker(reader)
        case .batch:
            if let text = reader.string("schedule", required: true) {
                if let s = Schedule.parse(text) { schedule = s } else {
                    reader.problem("schedule", "expected 'every 5m', 'hourly' or 'daily 02:30', found '\(text)'")
                }
            }
        case .source:
            path = reader.string("path") ?? "/webhooks/\(name)"
            if let p = path, !p.hasPrefix("/") || p.contains("?") || p.contains("#") {
                reader.problem("path", "expected a URL path starting with /, found '\(p)'")
            }
        }
        guard let built = module.build(reader, context, name) else { return nil }
        var definition = ConnectorDefinition(
            name: name, module: moduleName, role: module.role, pattern: pattern, system: system, subscribe: subscribe,
            from: from, concurrency: concurrency, rateLimit: rateLimit, retry: retry, schedule: schedule, path: path,
            built: built, line: reader.line,
            keyLines: ["from", "path", "timeout"].reduce(into: [:]) { lines, key in lines[key] = reader.line(of: key) })
        definition.breaker = breaker
        return definition
    }

    private static func crossCheck(_ config: HubConfig, declaredSources: Set<String>, leaseLine: Int?, sink: ProblemSink) {
        let sources = Set(config.connectors.filter { $0.role == .source }.map(\.name)).union(declaredSources)
        var paths: [String: String] = [:]
        for c in config.connectors {
            for f in c.from where !sources.contains(f) {
                sink.add(ConfigProblem(path: "connectors.\(c.name).from", line: c.keyLines["from"] ?? c.line,
                                       message: "'\(f)' is not a source connector of this file"))
            }
            if let p = c.path {
                if let other = paths[p] {
                    sink.add(ConfigProblem(path: "connectors.\(c.name).path", line: c.keyLines["path"] ?? c.line,
                                           message: "'\(p)' is already used by \(other)"))
                }
                paths[p] = c.name
            }
            if case .sink(let target) = c.built {
                let timeout = Double(target.timeout.components.seconds) + Double(target.timeout.components.attoseconds) / 1e18
                if config.lease <= timeout + 1 {
                    sink.add(ConfigProblem(path: "delivery.lease", line: leaseLine ?? c.keyLines["timeout"] ?? c.line, message: "the lease (\(OptionReader.format(config.lease))) must be longer than connectors.\(c.name).timeout (\(OptionReader.format(timeout))) plus 1 s, or a slow delivery would be taken over while it still runs"))
                }
            }
        }
    }
}
