import Foundation
import Logging
import TestSupport
import Testing
@testable import PatchbayCLI

/// Scalars that must never reach a terminal raw from `aging --csv`, stderr or a log line: C0 but
/// tab and newline, DEL, C1.
private func rawControls(in text: String) -> [String] {
    text.unicodeScalars.filter { s in
        (s.value < 0x20 && s != "\n" && s != "\t") || (0x7F...0x9F).contains(s.value)
    }.map { "U+" + String($0.value, radix: 16, uppercase: true) }
}

/// A customer name that writes the clipboard (OSC 52), sends a CSI and a C1 CSI, and is a formula.
private let hostileCustomer = "=HYPERLINK(\"https://evil.example\",\"\u{1B}]52;c;SGVsbG8=\u{07}\u{9B}2J\u{1B}[31m\")"

/// A QuickBooks A/R Aging Detail export: one invoice of the hostile customer, one credit memo.
private let hostileExport = """
    Date,Transaction Type,Num,Customer,Due Date,Amount,Open Balance\r
    11/02/2026,Invoice,INV-1,"\(hostileCustomer.replacingOccurrences(of: "\"", with: "\"\""))",11/16/2026,"1,930.74","1,930.74"\r
    11/03/2026,Credit Memo,CM-1,Atelier Moreau SARL,12/03/2026,-12.50,-12.50\r

    """

@Suite("Terminal safety outside the tables: CSV, stderr, log lines (promise 7)")
struct TerminalSafetyTests {
    @Test("what a command echoes back (a path given to init) passes the one output seam, emit, sanitised")
    func echoedArgumentsAreInert() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("a\u{1B}]0;owned\u{07}b.sqlite")
        let created = try BinaryRunner.run(["init", "--db", db])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(rawControls(in: created.stdout + created.stderr).isEmpty, "\(created.stdout.debugDescription)")
        #expect(created.stdout.contains("a^[]0;owned^Gb.sqlite"), "\(created.stdout.debugDescription)")
    }

    @Test("aging --csv: a customer holding OSC 52, CSI and C1 prints no control; the field is quoted and defused; amounts stay numbers")
    func agingCSVIsInert() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("ar.sqlite")
        #expect(try BinaryRunner.run(["init", "--db", db, "--home-currency", "EUR"]).status == 0)
        let file = dir.path("hostile.csv")
        try hostileExport.write(toFile: file, atomically: true, encoding: .utf8)
        let imported = try BinaryRunner.run(["import", "invoices", file, "--format", "quickbooks-csv", "--db", db])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(rawControls(in: imported.stdout + imported.stderr).isEmpty)

        let csv = try BinaryRunner.run(["aging", "--db", db, "--as-of", "2026-11-30", "--csv"])
        #expect(csv.status == 0, "\(csv.stderr)")
        #expect(rawControls(in: csv.stdout).isEmpty, "\(csv.stdout.debugDescription)")
        let rows = csv.stdout.split(separator: "\n").map(String.init)
        #expect(rows.first == "currency,customer,current,1-30,31-60,61-90,91+,total")
        let hostile = try #require(rows.first { $0.contains("HYPERLINK") })
        #expect(hostile == "EUR,\"'=HYPERLINK(\"\"https://evil.example\"\",\"\"\\u001B]52;c;SGVsbG8=\\u0007\\u009B2J\\u001B[31m\"\")\","
                + "0.00,1930.74,0.00,0.00,0.00,1930.74")
        #expect(rows.contains("EUR,Atelier Moreau SARL,-12.50,0.00,0.00,0.00,0.00,-12.50"))

        // The table and the JSON of the same report are as inert.
        for arguments in [["aging", "--db", db, "--as-of", "2026-11-30"], ["aging", "--db", db, "--as-of", "2026-11-30", "--json"]] {
            let out = try BinaryRunner.run(arguments)
            #expect(out.status == 0)
            #expect(rawControls(in: out.stdout).isEmpty, "\(arguments): \(out.stdout.debugDescription)")
        }
    }

    @Test("import invoices: a bad row holding ESC, OSC 52 and C1 is reported on stderr with the controls shown, not sent")
    func importErrorIsInert() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let db = dir.path("bad.sqlite")
        #expect(try BinaryRunner.run(["init", "--db", db]).status == 0)
        let file = dir.path("bad.csv")
        try """
            Date,Transaction Type,Num,Customer,Due Date,Amount,Open Balance\r
            11/02/2026,Invoice,INV-1,Acme,11/16/2026,"\u{1B}]52;c;SGVsbG8=\u{07}\u{9B}2J",10.00\r

            """.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try BinaryRunner.run(["import", "invoices", file, "--format", "quickbooks-csv", "--db", db])
        #expect(result.status == 1)
        #expect(result.stderr.contains("bad.csv:2"), "\(result.stderr)")
        #expect(result.stderr.contains("^[]52;c;SGVsbG8=^G\\u{9B}2J"), "\(result.stderr.debugDescription)")
        #expect(result.stderr.contains("Nothing was imported"))
        #expect(rawControls(in: result.stderr).isEmpty, "\(result.stderr.debugDescription)")
    }

    @Test("an argument error quoting hostile input is printed sanitised too")
    func argumentErrorIsInert() throws {
        let result = try BinaryRunner.run(["aging", "--by", "\u{1B}]0;pwned\u{07}"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("^[]0;pwned^G"), "\(result.stderr.debugDescription)")
        #expect(rawControls(in: result.stderr).isEmpty, "\(result.stderr.debugDescription)")
    }

    @Test("log lines: the message and every metadata key and value are sanitised by the handler")
    func logLinesAreInert() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path("hub.log")
        let output = try #require(FileLogHandler.open(path))
        var logger = Logger(label: "patchbay.test") { label in FileLogHandler(label: label, output: output) }
        logger[metadataKey: "connector"] = "shop\u{1B}]0;title\u{07}"
        logger.warning("delivery failed: \u{1B}]52;c;SGVsbG8=\u{07}\nforged 2026-01-01T00:00:00Z notice line",
                       metadata: ["error": "HTTP 500: \u{9B}2J\u{1B}[31mred\r", "key\u{1B}[1m": .array(["\u{85}x"])])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        #expect(text.split(separator: "\n").count == 1, "one record, one line: \(text.debugDescription)")
        #expect(rawControls(in: text).isEmpty, "\(text.debugDescription)")
        #expect(text.contains("delivery failed: ^[]52;c;SGVsbG8=^G^Jforged"))
        #expect(text.contains("connector=shop^[]0;title^G"))
        #expect(text.contains("error=HTTP 500: \\u{9B}2J^[[31mred^M"))
        #expect(text.contains("key^[[1m="))
        // Owner-only, like the database.
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }
}
