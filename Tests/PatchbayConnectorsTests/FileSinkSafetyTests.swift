import Foundation
import Testing
@testable import PatchbayConnectors

/// Control scalars in `text` other than the CRLF that ends each record: C0, DEL, C1.
private func rawControls(in text: String) -> [String] {
    text.unicodeScalars.filter { s in
        (s.value < 0x20 && s != "\r" && s != "\n") || (0x7F...0x9F).contains(s.value)
    }.map { "U+" + String($0.value, radix: 16, uppercase: true) }
}

private func hostileDelivery(_ payload: String, key: String = "evt-1") -> OutboundDelivery {
    OutboundDelivery(deliveryId: 11, eventId: 7, topic: "invoice_created", payload: payload, idempotencyKey: key, attempt: 1)
}

/// A customer that writes the clipboard (OSC 52) and is a formula, an invoice number holding a C1
/// CSI, a right-to-left override in a note, and amounts that must stay numbers.
private let hostilePayload = #"""
    {"customer":{"name":"=HYPERLINK(\"https://evil.example\",\"\u001b]52;c;SGVsbG8=\u0007\")"},"invoice":"\u009b2J INV-1","amount":"-12.50","total":-12.5,"note":"a\u202eb","memo":"@SUM(A1)"}
    """#

@Suite("File sink: CSV safe on a terminal and in a spreadsheet; files readable by the owner only")
struct FileSinkSafetyTests {
    @Test("CSV columns: escape sequences and C1 escaped, formulas defused, quoted per RFC 4180, amounts kept as numbers")
    func csvColumnsAreInert() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("patchbay-sink-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let sink = FileSink(directory: directory, prefix: "ar", format: .csv,
                            columns: ["customer.name", "invoice", "amount", "total", "note", "memo"])
        let result = await sink.deliver(hostileDelivery(hostilePayload, key: "evt-1\u{1B}[2J"))
        #expect(result == .success(status: nil, excerpt: sink.fileURL(for: Date()).lastPathComponent))
        let content = String(decoding: try Data(contentsOf: sink.fileURL(for: Date())), as: UTF8.self)
        #expect(rawControls(in: content).isEmpty, "\(content.debugDescription)")
        let expected = "delivery_id,event_id,topic,idempotency_key,customer.name,invoice,amount,total,note,memo\r\n"
            + "11,7,invoice_created,evt-1\\u001B[2J,"
            + "\"'=HYPERLINK(\"\"https://evil.example\"\",\"\"\\u001B]52;c;SGVsbG8=\\u0007\"\")\","
            + "\\u009B2J INV-1,-12.50,-12.5,a\\u202Eb,'@SUM(A1)\r\n"
        #expect(content == expected)
    }

    @Test("CSV payload column: no raw control, and the JSON still decodes to the original payload")
    func csvPayloadStaysJSON() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("patchbay-sink-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let sink = FileSink(directory: directory, prefix: "raw", format: .csv)
        // Raw C1, bidi override and zero-width space inside JSON strings are valid JSON.
        let payload = "{\"name\":\"Evil\u{9B}2J \u{202E}fed\u{200B}\",\n\t\"n\":1}"
        #expect(await sink.deliver(hostileDelivery(payload)) == .success(status: nil, excerpt: sink.fileURL(for: Date()).lastPathComponent))
        let content = String(decoding: try Data(contentsOf: sink.fileURL(for: Date())), as: UTF8.self)
        #expect(rawControls(in: content.replacingOccurrences(of: "\t", with: " ")).isEmpty, "\(content.debugDescription)")
        let record = try #require(content.components(separatedBy: "\r\n").dropFirst().first)
        let prefix = "11,7,invoice_created,evt-1,\""
        #expect(record.hasPrefix(prefix), "\(record)")
        let json = String(record.dropFirst(prefix.count).dropLast()).replacingOccurrences(of: "\"\"", with: "\"")
        let decoded = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary)
        let original = try #require(JSONSerialization.jsonObject(with: Data(payload.utf8)) as? NSDictionary)
        #expect(decoded == original)
    }

    @Test("files are created with mode 0600, CSV and JSON lines alike", arguments: FileSink.Format.allCases)
    func filesAreOwnerOnly(format: FileSink.Format) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("patchbay-sink-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let sink = FileSink(directory: directory, prefix: "private", format: format)
        #expect(await sink.deliver(hostileDelivery(#"{"card":"4111"}"#)) == .success(status: nil, excerpt: sink.fileURL(for: Date()).lastPathComponent))
        var info = stat()
        #expect(stat(sink.fileURL(for: Date()).path, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600, "mode \(String(info.st_mode & 0o777, radix: 8))")
    }
}
