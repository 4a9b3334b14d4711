import Foundation

/// One CSV record and the physical line it starts on (1-based).
public struct CSVRecord: Sendable, Equatable {
    public var line: Int
    public var fields: [String]

    public init(line: Int, fields: [String]) {
        self.line = line
        self.fields = fields
    }

    /// True for an empty line, or a record whose fields are all empty or spaces.
    public var isBlank: Bool {
        fields.allSatisfy { $0.utf8.allSatisfy { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") } }
    }
}

/// Why a file is not valid CSV, and where.
public struct CSVError: Error, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}

/// A strict RFC 4180 reader.
///
/// Accepts a UTF-8 byte order mark, CRLF, LF or CR line ends, and quoted fields holding commas,
/// doubled quotes and line breaks. Refuses, naming the line: an unterminated quoted field, a quote
/// inside an unquoted field, text after a closing quote, and bytes that are not UTF-8. A final
/// line break does not make an empty record; a blank line in the middle is a record with one
/// empty field.
public enum CSVReader {
    public static func records(in data: Data) throws -> [CSVRecord] {
        try data.withUnsafeBytes { raw in
            try records(in: UnsafeBufferPointer(start: raw.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                                count: raw.count))
        }
    }

    private static let quote = UInt8(ascii: "\"")
    private static let comma = UInt8(ascii: ",")
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")
    private static let notUTF8 = "the file is not UTF-8 text (save it as CSV UTF-8)"

    private static func records(in bytes: UnsafeBufferPointer<UInt8>) throws -> [CSVRecord] {
        let end = bytes.count
        var index = 0
        if end >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { index = 3 }

        var line = 1
        var records: [CSVRecord] = []
        var fields: [String] = []
        var recordLine = 1
        var buffer: [UInt8] = []  // a quoted field's bytes, once it holds a doubled quote

        func string(_ start: Int, _ stop: Int, line: Int) throws -> String {
            guard let text = String(validating: UnsafeBufferPointer(rebasing: bytes[start..<stop]), as: UTF8.self) else {
                throw CSVError(line: line, message: notUTF8)
            }
            return text
        }
        /// Consumes the line break at `index`, if there is one.
        func consumeLineBreak() {
            guard index < end else { return }
            if bytes[index] == lf {
                index += 1
            } else if bytes[index] == cr {
                index += 1
                if index < end && bytes[index] == lf { index += 1 }
            } else {
                return
            }
            line += 1
        }

        while index < end {
            // At the start of a field.
            if bytes[index] == quote {
                let fieldLine = line
                index += 1
                var segmentStart = index
                buffer.removeAll(keepingCapacity: true)
                var usesBuffer = false
                var closed = false
                while index < end {
                    let byte = bytes[index]
                    if byte == quote {
                        if index + 1 < end && bytes[index + 1] == quote {
                            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[segmentStart...index]))
                            usesBuffer = true
                            index += 2
                            segmentStart = index
                            continue
                        }
                        closed = true
                        break
                    }
                    if byte == lf || (byte == cr && !(index + 1 < end && bytes[index + 1] == lf)) {
                        line += 1
                    }
                    index += 1
                }
                guard closed else {
                    throw CSVError(line: fieldLine, message: "a quoted field starting here is never closed (missing \")")
                }
                if usesBuffer {
                    buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[segmentStart..<index]))
                    guard let text = String(validating: buffer, as: UTF8.self) else {
                        throw CSVError(line: fieldLine, message: notUTF8)
                    }
                    fields.append(text)
                } else {
                    fields.append(try string(segmentStart, index, line: fieldLine))
                }
                index += 1  // the closing quote
                if index < end, bytes[index] != comma, bytes[index] != cr, bytes[index] != lf {
                    if line > fieldLine {
                        // Most likely this field's closing quote is missing and a later field's
                        // opening quote closed it: name the line where it went wrong.
                        throw CSVError(line: fieldLine, message: "a quoted field starting here runs to line \(line) and has text after its closing quote (is a closing quote missing?)")
                    }
                    throw CSVError(line: line, message: "unexpected text after a closing quote (a quote inside a quoted field must be doubled)")
                }
            } else {
                let start = index
                while index < end {
                    let byte = bytes[index]
                    if byte == comma || byte == cr || byte == lf { break }
                    if byte == quote {
                        throw CSVError(line: line, message: "a quote inside an unquoted field (quote the whole field and double the quote)")
                    }
                    index += 1
                }
                fields.append(try string(start, index, line: line))
            }
            // After a field: a comma, a line break, or the end.
            if index < end && bytes[index] == comma {
                index += 1
                if index == end { fields.append("") }  // "a,b," at the very end
                continue
            }
            consumeLineBreak()
            records.append(CSVRecord(line: recordLine, fields: fields))
            fields = []
            recordLine = line
        }
        if !fields.isEmpty { records.append(CSVRecord(line: recordLine, fields: fields)) }
        return records
    }
}
