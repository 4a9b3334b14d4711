import Foundation
import TerminalUI
import Yams

/// Every semantic colour the dashboard uses. Widgets take their styles from here; none hard-codes one.
public struct Theme: Equatable, Sendable {
    public var name: String
    public var text: Style
    public var muted: Style
    public var accent: Style
    public var ok: Style
    public var warn: Style
    public var error: Style
    public var retrying: Style
    public var dead: Style
    public var border: Style
    public var focusedBorder: Style
    public var title: Style
    public var header: Style
    public var selection: Style
    public var marked: Style
    public var received: Style
    public var delivered: Style
    public var failed: Style
    public var statusBar: Style
    public var key: Style

    /// The keys a theme file sets, in the order they are documented.
    public static let keys = ["text", "muted", "accent", "ok", "warn", "error", "retrying", "dead", "border",
                              "focused_border", "title", "header", "selection_fg", "selection_bg", "marked",
                              "series_received", "series_delivered", "series_failed", "status_fg", "status_bg", "key"]
}

/// A problem with a theme file: which file, which key, what is wrong.
public struct ThemeError: Error, Equatable, CustomStringConvertible {
    public var file: String
    public var key: String?
    public var problem: String

    public var description: String {
        "\(file): " + (key.map { "\($0): " } ?? "") + problem
    }
}

extension Theme {
    /// Themes shipped inside the binary; `themes/*.yaml` in the repository hold the same text.
    public static let builtIn: [String: String] = [
        "default": BuiltInThemes.dark, "dark": BuiltInThemes.dark, "light": BuiltInThemes.light,
        "high-contrast": BuiltInThemes.highContrast, "mono": BuiltInThemes.mono,
    ]

    public static let `default`: Theme = try! parse(BuiltInThemes.dark, file: "built-in default")
    public static let mono: Theme = try! parse(BuiltInThemes.mono, file: "built-in mono")

    /// Parses a theme file's YAML: `name:` and a `colors:` map of every key in `Theme.keys`.
    ///
    /// A colour is `"#rrggbb"`, an ANSI name (`red`, `bright_blue`...), a number 0-255, or `default`;
    /// `+bold`, `+dim`, `+underline`, `+reverse` may follow (`"#ff5f5f +bold"`).
    public static func parse(_ yaml: String, file: String) throws -> Theme {
        let root: Any?
        do {
            root = try Yams.load(yaml: yaml)
        } catch let error as YamlError {
            throw ThemeError(file: file, key: nil, problem: "not valid YAML: \(error)")
        }
        guard let map = root as? [String: Any] else {
            throw ThemeError(file: file, key: nil, problem: "expected a map with `name` and `colors`")
        }
        for key in map.keys where key != "name" && key != "colors" {
            throw ThemeError(file: file, key: key, problem: "unknown key (a theme has `name` and `colors`)")
        }
        guard let colors = map["colors"] as? [String: Any] else {
            throw ThemeError(file: file, key: "colors", problem: "missing, or not a map of colour names")
        }
        for key in colors.keys where !keys.contains(key) {
            throw ThemeError(file: file, key: "colors.\(key)",
                             problem: "unknown colour name (known: \(keys.joined(separator: ", ")))")
        }
        var styles: [String: Style] = [:]
        for key in keys {
            guard let value = colors[key] else {
                throw ThemeError(file: file, key: "colors.\(key)", problem: "missing")
            }
            styles[key] = try parseStyle(value, file: file, key: "colors.\(key)")
        }
        func s(_ key: String) -> Style { styles[key]! }
        let selection = Style(foreground: s("selection_fg").foreground, background: s("selection_bg").foreground,
                              bold: s("selection_fg").bold, reverse: s("selection_fg").reverse)
        let status = Style(foreground: s("status_fg").foreground, background: s("status_bg").foreground,
                           reverse: s("status_fg").reverse)
        return Theme(
            name: (map["name"] as? String) ?? file, text: s("text"), muted: s("muted"), accent: s("accent"),
            ok: s("ok"), warn: s("warn"), error: s("error"), retrying: s("retrying"), dead: s("dead"),
            border: s("border"), focusedBorder: s("focused_border"), title: s("title"), header: s("header"),
            selection: selection, marked: s("marked"), received: s("series_received"),
            delivered: s("series_delivered"), failed: s("series_failed"), statusBar: status, key: s("key"))
    }

    static func parseStyle(_ value: Any, file: String, key: String) throws -> Style {
        let text: String
        if let number = value as? Int { text = String(number) }
        else if let string = value as? String { text = string }
        else { throw ThemeError(file: file, key: key, problem: "expected a colour, got \(value)") }
        var parts = text.split(separator: " ").map(String.init)
        guard !parts.isEmpty else { throw ThemeError(file: file, key: key, problem: "empty colour") }
        var style = Style(foreground: try parseColor(parts.removeFirst(), file: file, key: key))
        for modifier in parts {
            switch modifier {
            case "+bold": style.bold = true
            case "+dim": style.dim = true
            case "+underline": style.underline = true
            case "+reverse": style.reverse = true
            default: throw ThemeError(file: file, key: key, problem: "unknown modifier '\(modifier)' (+bold, +dim, +underline, +reverse)")
            }
        }
        return style
    }

    static let ansiNames = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    static func parseColor(_ text: String, file: String, key: String) throws -> Color {
        let lower = text.lowercased()
        if lower == "default" { return .default }
        if lower.hasPrefix("#") {
            let hex = lower.dropFirst()
            guard hex.count == 6, let value = UInt32(hex, radix: 16) else {
                throw ThemeError(file: file, key: key, problem: "'\(text)' is not a #rrggbb colour")
            }
            return .rgb(UInt8(value >> 16), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF))
        }
        if let number = Int(lower) {
            guard (0...255).contains(number) else {
                throw ThemeError(file: file, key: key, problem: "colour number \(number) is outside 0-255")
            }
            return .indexed(UInt8(number))
        }
        if let index = ansiNames.firstIndex(of: lower) { return .ansi(UInt8(index)) }
        if lower.hasPrefix("bright_"), let index = ansiNames.firstIndex(of: String(lower.dropFirst(7))) {
            return .ansi(UInt8(index + 8))
        }
        throw ThemeError(file: file, key: key, problem: "'\(text)' is not a colour (#rrggbb, 0-255, an ANSI name or default)")
    }

    /// Resolves `--theme NAME|PATH` (else `$PATCHBAY_THEME`): a path to a file, a built-in name, or a
    /// file `NAME.yaml` in `$XDG_CONFIG_HOME/patchbay/themes/` or `./themes/`. With `NO_COLOR` set, the
    /// monochrome theme. A bad file falls back to the default and the error is returned to be shown.
    public static func resolve(_ requested: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        -> (Theme, ThemeError?)
    {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return (.mono, nil) }
        guard let name = requested ?? environment["PATCHBAY_THEME"], !name.isEmpty else { return (.default, nil) }
        var candidates: [String] = []
        if name.contains("/") || name.hasSuffix(".yaml") || name.hasSuffix(".yml") {
            candidates = [name]
        } else {
            if let yaml = builtIn[name], let theme = try? parse(yaml, file: "built-in \(name)") { return (theme, nil) }
            let config = environment["XDG_CONFIG_HOME"].map { URL(fileURLWithPath: $0) }
                ?? URL(fileURLWithPath: environment["HOME"] ?? "~").appendingPathComponent(".config")
            candidates = [config.appendingPathComponent("patchbay/themes/\(name).yaml").path, "themes/\(name).yaml"]
        }
        for path in candidates where FileManager.default.fileExists(atPath: path) {
            do {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                return (try parse(text, file: path), nil)
            } catch let error as ThemeError {
                return (.default, error)
            } catch {
                return (.default, ThemeError(file: path, key: nil, problem: "cannot read: \(error.localizedDescription)"))
            }
        }
        return (.default, ThemeError(file: name, key: nil,
                                     problem: "no such theme (built in: \(builtIn.keys.sorted().joined(separator: ", ")))"))
    }

    /// A state's colour.
    public func style(for state: String) -> Style {
        switch state {
        case "delivered", "healthy": return ok
        case "retrying", "degraded": return retrying
        case "dead", "failing": return dead
        case "pending", "in_flight": return accent
        case "discarded", "unknown": return muted
        default: return text
        }
    }
}
