import Foundation
import PatchbayValues
import Yams

/// One problem in a configuration file: the key path, the line, and what is wrong.
public struct ConfigProblem: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var line: Int?
    public var message: String

    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        let at = line.map { "line \($0): " } ?? ""
        return path.isEmpty ? "\(at)\(message)" : "\(at)\(path): \(message)"
    }
}

/// Every problem found in a configuration file; thrown when any exists.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public var file: String
    public var problems: [ConfigProblem]

    public init(file: String, problems: [ConfigProblem]) {
        self.file = file
        self.problems = problems
    }

    public var description: String {
        let noun = problems.count == 1 ? "problem" : "problems"
        let lines = problems.map { p -> String in
            let location = p.line.map { "\(file):\($0)" } ?? file
            return "  \(location): " + (p.path.isEmpty ? p.message : "\(p.path): \(p.message)")
        }
        return "\(file): \(problems.count) \(noun)\n" + lines.joined(separator: "\n")
    }
}

/// A parsed YAML document with the line of every node, so that each problem can name where it is.
public indirect enum ConfigNode: Sendable, Equatable {
    case scalar(String, line: Int?)
    case mapping([(key: String, keyLine: Int?, value: ConfigNode)], line: Int?)
    case sequence([ConfigNode], line: Int?)
    case null(line: Int?)

    public static func == (lhs: ConfigNode, rhs: ConfigNode) -> Bool {
        switch (lhs, rhs) {
        case let (.scalar(a, _), .scalar(b, _)): return a == b
        case let (.sequence(a, _), .sequence(b, _)): return a == b
        case (.null, .null): return true
        case let (.mapping(a, _), .mapping(b, _)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    public var line: Int? {
        switch self {
        case .scalar(_, let line), .mapping(_, let line), .sequence(_, let line), .null(let line): return line
        }
    }

    public var kindName: String {
        switch self {
        case .scalar: return "a value"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .null: return "nothing"
        }
    }

    /// Parses YAML text. Syntax errors become one problem with the line Yams reports.
    public static func parse(yaml: String) throws(ConfigError) -> ConfigNode {
        let node: Node?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigError(file: "", problems: [Self.problem(from: error, yaml: yaml)])
        } catch {
            throw ConfigError(file: "", problems: [ConfigProblem(path: "", line: nil, message: "\(error)")])
        }
        guard let node else { return .mapping([], line: 1) }
        var budget = maxValues
        guard let converted = convert(node, budget: &budget) else {
            throw ConfigError(file: "", problems: [ConfigProblem(path: "", line: nil, message:
                "the document expands to more than \(maxValues) values (YAML aliases repeating anchors?); a configuration is far smaller")])
        }
        return converted
    }

    /// Most values a document may expand to: anchors and aliases can make a few hundred bytes
    /// stand for billions of values (found by the config fuzzer: 367 bytes ran `check` out of memory).
    static let maxValues = 100_000

    private static func convert(_ node: Node, budget: inout Int) -> ConfigNode? {
        budget -= 1
        guard budget >= 0 else { return nil }
        let line = node.mark?.line
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                return .null(line: line)
            }
            return .scalar(scalar.string, line: line)
        case .mapping(let mapping):
            var entries: [(key: String, keyLine: Int?, value: ConfigNode)] = []
            for pair in mapping {
                guard let value = convert(pair.value, budget: &budget) else { return nil }
                entries.append((key: pair.key.scalar?.string ?? "\(pair.key)", keyLine: pair.key.mark?.line, value: value))
            }
            return .mapping(entries, line: line)
        case .sequence(let sequence):
            var items: [ConfigNode] = []
            for item in sequence {
                guard let value = convert(item, budget: &budget) else { return nil }
                items.append(value)
            }
            return .sequence(items, line: line)
        case .alias:
            return .null(line: line)
        }
    }

    private static func problem(from error: YamlError, yaml: String) -> ConfigProblem {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            return ConfigProblem(path: "", line: mark.line, message: "not valid YAML: \(what)")
        case .composer(let context, let problem, let mark, _):
            let what = [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            return ConfigProblem(path: "", line: mark.line, message: "not valid YAML: \(what)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams refuses a repeated key before any reader sees it, naming the bare key at its first
            // use. Report it like every other problem: by key path, at the repeat.
            if duplicates.count == 1,
               let found = DuplicateKeyLocator(yaml: yaml).locate(key: duplicates[0], firstLine: context.mark.line) {
                return ConfigProblem(path: found.path, line: found.line,
                                     message: "appears twice in the same mapping (first on line \(context.mark.line))")
            }
            return ConfigProblem(path: duplicates.joined(separator: ", "), line: context.mark.line,
                                 message: "appears twice in the same mapping")
        default:
            return ConfigProblem(path: "", line: nil, message: "not valid YAML: \(error)")
        }
    }
}

/// Reads a mapping of options, collecting problems instead of stopping at the first, and noticing
/// keys nobody asked for (a misspelt `timout` is an error, not a silently ignored line).
public final class OptionReader: @unchecked Sendable {
    public let path: String
    public let line: Int?
    private let entries: [(key: String, keyLine: Int?, value: ConfigNode)]
    private var used: Set<String> = []
    private let sink: ProblemSink
    public let environment: [String: String]

    public init(_ node: ConfigNode, path: String, problems: ProblemSink, environment: [String: String]) {
        self.path = path
        self.line = node.line
        self.sink = problems
        self.environment = environment
        if case .mapping(let entries, _) = node {
            self.entries = entries
            var seen: Set<String> = []
            for entry in entries where !seen.insert(entry.key).inserted {
                problems.add(ConfigProblem(path: Self.join(path, entry.key), line: entry.keyLine,
                                           message: "appears twice"))
            }
        } else {
            self.entries = []
            if case .null = node {} else {
                problems.add(ConfigProblem(path: path, line: node.line, message: "expected a mapping, found \(node.kindName)"))
            }
        }
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public var keys: [String] { entries.map(\.key) }

    public func node(_ key: String) -> ConfigNode? {
        used.insert(key)
        return entries.first(where: { $0.key == key })?.value
    }

    public func has(_ key: String) -> Bool { entries.contains(where: { $0.key == key }) }

    /// The line of a key's value (or of the key), for problems found after reading.
    public func line(of key: String) -> Int? {
        entries.first(where: { $0.key == key }).flatMap { $0.value.line ?? $0.keyLine }
    }

    /// Marks every key as read: for a mapping whose valid keys cannot be known (an unknown module).
    public func ignoreRemainingKeys() { used.formUnion(entries.map(\.key)) }

    public func problem(_ key: String?, _ message: String) {
        let node = key.flatMap { k in entries.first(where: { $0.key == k }) }
        sink.add(ConfigProblem(path: key.map { Self.join(path, $0) } ?? path,
                               line: node?.value.line ?? node?.keyLine ?? line, message: message))
    }

    public func child(_ key: String) -> OptionReader? {
        guard let node = node(key) else { return nil }
        return OptionReader(node, path: Self.join(path, key), problems: sink, environment: environment)
    }

    // MARK: Typed values

    public func string(_ key: String, required: Bool = false) -> String? {
        guard let node = node(key) else {
            if required { problem(nil, "missing required key '\(key)'") }
            return nil
        }
        switch node {
        case .scalar(let text, _): return text
        case .null: if required { problem(key, "must not be empty") }; return nil
        default: problem(key, "expected a value, found \(node.kindName)"); return nil
        }
    }

    public func choice<T: RawRepresentable & CaseIterable>(_ key: String, as: T.Type, required: Bool = false) -> T?
    where T.RawValue == String {
        guard let text = string(key, required: required) else { return nil }
        if let value = T(rawValue: text) { return value }
        problem(key, "'\(text)' is not one of \(T.allCases.map { $0.rawValue }.joined(separator: ", "))")
        return nil
    }

    public func oneOf(_ key: String, _ allowed: [String], required: Bool = false) -> String? {
        guard let text = string(key, required: required) else { return nil }
        if allowed.contains(text) { return text }
        problem(key, "'\(text)' is not one of \(allowed.joined(separator: ", "))")
        return nil
    }

    public func int(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(key) else { return nil }
        guard let value = Int(text.replacingOccurrences(of: "_", with: "")), range.contains(value) else {
            problem(key, "expected a whole number from \(range.lowerBound) to \(range.upperBound), found '\(text)'")
            return nil
        }
        return value
    }

    public func double(_ key: String, in range: ClosedRange<Double>) -> Double? {
        guard let text = string(key) else { return nil }
        guard let value = Double(text), range.contains(value) else {
            problem(key, "expected a number from \(range.lowerBound) to \(range.upperBound), found '\(text)'")
            return nil
        }
        return value
    }

    public func bool(_ key: String) -> Bool? {
        guard let text = string(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: problem(key, "expected true or false, found '\(text)'"); return nil
        }
    }

    /// `250ms`, `10s`, `5m`, `2h`, `30d`, `1w`, or a bare number of seconds, within `range`.
    public func duration(_ key: String, in range: ClosedRange<TimeInterval> = 0...(366 * 86400)) -> TimeInterval? {
        guard let text = string(key) else { return nil }
        guard let value = Self.parseDuration(text), range.contains(value) else {
            problem(key, "expected a duration like 250ms, 10s, 5m, 2h or 30d (from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))), found '\(text)'")
            return nil
        }
        return value
    }

    /// `1MiB`, `512KiB`, `1048576`.
    public func byteSize(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(key) else { return nil }
        let units: [(String, Int)] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1)]
        var value: Int?
        for (unit, factor) in units where text.hasSuffix(unit) {
            // Overflow is a value out of range, not a crash.
            value = Int(text.dropLast(unit.count).trimmingCharacters(in: .whitespaces)).flatMap {
                let (product, overflow) = $0.multipliedReportingOverflow(by: factor)
                return overflow ? nil : product
            }
            break
        }
        if value == nil { value = Int(text) }
        guard let value, range.contains(value) else {
            problem(key, "expected a size like 512KiB or 1MiB (at most \(range.upperBound) bytes), found '\(text)'")
            return nil
        }
        return value
    }

    public func strings(_ key: String) -> [String]? {
        guard let node = node(key) else { return nil }
        switch node {
        case .scalar(let text, _): return [text]
        case .sequence(let items, _):
            var out: [String] = []
            for (i, item) in items.enumerated() {
                if case .scalar(let text, _) = item { out.append(text) } else {
                    sink.add(ConfigProblem(path: "\(Self.join(path, key))[\(i)]", line: item.line,
                                           message: "expected a value, found \(item.kindName)"))
                }
            }
            return out
        case .null: return []
        default: problem(key, "expected a list, found \(node.kindName)"); return nil
        }
    }

    public func stringMap(_ key: String) -> [(key: String, value: String, line: Int?)]? {
        guard let node = node(key) else { return nil }
        guard case .mapping(let entries, _) = node else {
            if case .null = node { return [] }
            problem(key, "expected a mapping, found \(node.kindName)")
            return nil
        }
        var out: [(key: String, value: String, line: Int?)] = []
        for entry in entries {
            if case .scalar(let text, let line) = entry.value { out.append((entry.key, text, line)) } else {
                sink.add(ConfigProblem(path: Self.join(Self.join(path, key), entry.key), line: entry.value.line,
                                       message: "expected a value, found \(entry.value.kindName)"))
            }
        }
        return out
    }

    // MARK: Secrets

    /// A value that may only come from the environment: `${NAME}` (or `env:NAME`). An inline value is
    /// refused, so secrets never sit in a file that gets committed, copied or printed.
    public func secret(_ key: String, required: Bool = false) -> String? {
        guard let text = string(key, required: required) else { return nil }
        guard let name = Self.environmentReference(text) else {
            problem(key, "secrets must reference an environment variable, like ${\(Self.suggestedName(path: path, key: key))}; an inline value is not allowed")
            return nil
        }
        guard let value = environment[name], !value.isEmpty else {
            problem(key, "environment variable \(name) is not set")
            return nil
        }
        return value
    }

    /// Text in which `${NAME}` references are replaced from the environment (for URLs and headers).
    public func interpolated(_ text: String, key: String) -> String? {
        var out = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            out += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                problem(key, "unclosed ${ in '\(text)'")
                return nil
            }
            let name = String(rest[start.upperBound..<end])
            guard Self.isVariableName(name) else {
                problem(key, "'${\(name)}' is not an environment variable name")
                return nil
            }
            guard let value = environment[name] else {
                problem(key, "environment variable \(name) is not set")
                return nil
            }
            out += value
            rest = rest[rest.index(after: end)...]
        }
        return out + rest
    }

    /// The values of the `${NAME}` references in `text` (unset ones are left out).
    public func referencedValues(_ text: String) -> [String] {
        Self.referencedNames(text).compactMap { environment[$0] }.filter { !$0.isEmpty }
    }

    /// The values of the references in `text` whose names say they hold a secret
    /// (`${HOOK_TOKEN}`, `${ERP_PASSWORD}`): redacted wherever a target echoes them.
    public func referencedSecrets(_ text: String) -> [String] {
        Self.referencedNames(text).filter(Self.isSecretName).compactMap { environment[$0] }.filter { !$0.isEmpty }
    }

    static func referencedNames(_ text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let start = rest.range(of: "${"), let end = rest[start.upperBound...].firstIndex(of: "}") {
            names.append(String(rest[start.upperBound..<end]))
            rest = rest[rest.index(after: end)...]
        }
        return names
    }

    /// Words that mark a name (a header's, a variable's) as holding a credential.
    static let credentialWords = ["token", "secret", "key", "auth", "cookie", "password", "passwd"]

    static func isSecretName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return credentialWords.contains { lower.contains($0) }
    }

    /// A header whose value must come from the environment and is redacted from stored errors:
    /// any name containing token, secret, key, auth, cookie or password (`Authorization`,
    /// `X-API-Key`, `X-Shop-Token`, `Proxy-Authorization`, ...).
    public static func isCredentialHeader(_ name: String) -> Bool { isSecretName(name) }

    /// The URL's userinfo, password hidden, when the password is written inline rather than
    /// referenced (`https://user:pass@host`): nil when there is none or it is `${...}`.
    static func inlineURLPassword(_ url: String) -> String? {
        guard let userinfo = userinfo(of: url), let colon = userinfo.firstIndex(of: ":") else { return nil }
        let password = userinfo[userinfo.index(after: colon)...]
        guard !password.isEmpty, environmentReference(String(password)) == nil else { return nil }
        return "\(userinfo[..<colon]):***@"
    }

    /// `url` with an inline password replaced by `***`, for messages.
    static func hidingURLPassword(_ url: String) -> String {
        guard let userinfo = userinfo(of: url), let colon = userinfo.firstIndex(of: ":") else { return url }
        let password = userinfo[userinfo.index(after: colon)...]
        guard !password.isEmpty, environmentReference(String(password)) == nil else { return url }
        return url.replacingOccurrences(of: "\(userinfo)@", with: "\(userinfo[..<colon]):***@")
    }

    private static func userinfo(of url: String) -> Substring? {
        guard let scheme = url.range(of: "://") else { return nil }
        let rest = url[scheme.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard let at = authority.lastIndex(of: "@") else { return nil }
        return authority[..<at]
    }

    /// Reports keys present in the mapping that no reader asked for.
    public func finish() {
        for entry in entries where !used.contains(entry.key) {
            let known = used.sorted()
            let hint = Self.closest(entry.key, in: known).map { " (did you mean '\($0)'?)" } ?? ""
            sink.add(ConfigProblem(path: Self.join(path, entry.key), line: entry.keyLine,
                                   message: "unknown key\(hint)"))
        }
    }

    // MARK: Helpers

    static func environmentReference(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("${"), trimmed.hasSuffix("}") {
            let name = String(trimmed.dropFirst(2).dropLast())
            return isVariableName(name) ? name : nil
        }
        if trimmed.hasPrefix("env:") {
            let name = String(trimmed.dropFirst(4))
            return isVariableName(name) ? name : nil
        }
        return nil
    }

    static func isVariableName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first == "_" || ("A"..."Z").contains(first) || ("a"..."z").contains(first)
        else { return false }
        return name.unicodeScalars.allSatisfy { $0 == "_" || ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) }
    }

    private static func suggestedName(path: String, key: String) -> String {
        let base = (path.split(separator: ".").last.map(String.init) ?? "PATCHBAY") + "_" + key
        return base.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" }.reduce(into: "") { $0.append($1) }
    }

    /// The configuration's durations are the command line's and the dashboard's (`Durations`:
    /// `250ms` to `1w`, at most 100 years); a bare number is also read as seconds, as it always was here.
    public static func parseDuration(_ text: String) -> TimeInterval? {
        if let seconds = Durations.seconds(text) { return seconds }
        return Durations.seconds(text.trimmingCharacters(in: .whitespaces) + "s")
    }

    static func format(_ seconds: TimeInterval) -> String {
        guard seconds.isFinite, seconds < 1e12 else { return "\(seconds)s" }
        if seconds >= 86400, seconds.truncatingRemainder(dividingBy: 86400) == 0 { return "\(Int(seconds / 86400))d" }
        if seconds >= 3600, seconds.truncatingRemainder(dividingBy: 3600) == 0 { return "\(Int(seconds / 3600))h" }
        if seconds >= 60, seconds.truncatingRemainder(dividingBy: 60) == 0 { return "\(Int(seconds / 60))m" }
        if seconds >= 1, seconds.rounded() == seconds { return "\(Int(seconds))s" }
        return "\(Int((seconds * 1000).rounded()))ms"
    }

    static func closest(_ word: String, in candidates: [String]) -> String? {
        func distance(_ a: [Character], _ b: [Character]) -> Int {
            var row = Array(0...b.count)
            for i in 1...max(1, a.count) where !a.isEmpty {
                var previous = row[0]
                row[0] = i
                for j in stride(from: 1, through: b.count, by: 1) {
                    let old = row[j]
                    row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                    previous = old
                }
            }
            return row[b.count]
        }
        let w = Array(word)
        return candidates.map { ($0, distance(w, Array($0))) }.filter { $0.1 <= 2 }.min(by: { $0.1 < $1.1 })?.0
    }
}

/// Collects problems from every reader of one file.
public final class ProblemSink: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [ConfigProblem] = []

    public init() {}

    public func add(_ problem: ConfigProblem) {
        lock.lock(); defer { lock.unlock() }
        items.append(problem)
    }

    public var problems: [ConfigProblem] {
        lock.lock(); defer { lock.unlock() }
        return items.sorted { ($0.line ?? 0, $0.path) < ($1.line ?? 0, $1.path) }
    }
}

/// Finds, in block-style YAML text, where a key that Yams reported twice repeats and the key path of
/// its mapping. A plain text scan of indentation: good for the block mappings configurations are
/// written in; for anything else (flow mappings, quoted keys with escapes) it finds nothing and the
/// caller falls back to Yams's own report.
struct DuplicateKeyLocator {
    let lines: [Substring]

    init(yaml: String) {
        lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The path and 1-based line of the second `key:` in the mapping whose first `key:` is on `firstLine`.
    func locate(key: String, firstLine: Int) -> (path: String, line: Int)? {
        let first = firstLine - 1
        guard lines.indices.contains(first), let (indent, name) = entry(lines[first]), name == key else { return nil }
        var repeatLine: Int?
        for index in (first + 1)..<lines.count {
            guard let (otherIndent, otherName) = entry(lines[index]) else {
                if let level = indentation(lines[index]), level < indent { break }
                continue
            }
            if otherIndent < indent { break }
            if otherIndent == indent && otherName == key { repeatLine = index + 1; break }
        }
        guard let repeatLine else { return nil }
        // The parents: each nearest earlier entry indented less than the one below it.
        var path = [key]
        var target = indent
        var index = first - 1
        while index >= 0 && target > 0 {
            if let (parentIndent, parentName) = entry(lines[index]), parentIndent < target {
                path.insert(parentName, at: 0)
                target = parentIndent
            }
            index -= 1
        }
        return (path.joined(separator: "."), repeatLine)
    }

    /// The column where the line's text starts; nil for blank and comment lines.
    private func indentation(_ line: Substring) -> Int? {
        let text = line.drop { $0 == " " }
        if text.isEmpty || text.first == "#" || text.allSatisfy({ $0 == " " || $0 == "\r" || $0 == "\t" }) { return nil }
        return line.count - text.count
    }

    /// A `key:` line's key and the column it starts at ("- key:" counts the key's own column).
    private func entry(_ line: Substring) -> (indent: Int, key: String)? {
        guard var indent = indentation(line) else { return nil }
        var text = line.dropFirst(indent)
        while text.hasPrefix("- ") {
            text = text.dropFirst(2)
            let spaces = text.prefix { $0 == " " }.count
            text = text.dropFirst(spaces)
            indent += 2 + spaces
        }
        var key: Substring
        if let quote = text.first, quote == "\"" || quote == "'" {
            guard let close = text.dropFirst().firstIndex(of: quote) else { return nil }
            key = text[text.index(after: text.startIndex)..<close]
            text = text[text.index(after: close)...]
            guard text.first == ":" else { return nil }
        } else {
            guard let colon = text.firstIndex(of: ":") else { return nil }
            let after = text.index(after: colon)
            guard after == text.endIndex || text[after] == " " || text[after] == "\r" else { return nil }
            key = text[..<colon]
            while key.last == " " { key = key.dropLast() }
        }
        return (indent, String(key))
    }
}

extension Array where Element == String {
    /// The strings in their first order, each once.
    func uniqued() -> [String] {
        var seen = Set<String>()
        return filter { seen.insert($0).inserted }
    }
}
