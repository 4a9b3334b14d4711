import Foundation
import Synchronization
import Testing
@testable import PatchbayConnectors
import TestSupport

private func bytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: Fixtures.url(path)))
}

private func bytes(text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct XeroResponseTests {
    @Test func validationExceptionFixture() throws {
        let message = XeroResponse.errorMessage(status: 400, body: try bytes("xero/validation-error-400.json"))
        #expect(message == "ValidationException: SHP-1043: Account code '2000' is not a valid code for this document.; "
                + "The TaxType code 'OUTPUT9' does not exist or cannot be used for this type of transaction.")
    }

    @Test func severalElementsAreSeparated() {
        let body = #"{"Type":"ValidationException","Elements":[{"InvoiceNumber":"SHP-1","ValidationErrors":[{"Message":"A"}]},{"ValidationErrors":[{"Message":"B"},{"Message":"C"}]},{"InvoiceNumber":"SHP-3","ValidationErrors":[]}]}"#
        #expect(XeroResponse.errorMessage(status: 400, body: bytes(text: body)) == "ValidationException: SHP-1: A | B; C")
    }

    @Test func validationExceptionWithoutElementsUsesMessage() {
        let body = #"{"ErrorNumber":10,"Type":"ValidationException","Message":"A validation exception occurred"}"#
        #expect(XeroResponse.errorMessage(status: 400, body: bytes(text: body))
                == "ValidationException: A validation exception occurred")
    }

    @Test func perInvoiceErrorsInA200() throws {
        let body = #"{"Status":"OK","Invoices":[{"InvoiceNumber":"SHP-1042","HasErrors":true,"ValidationErrors":[{"Message":"Invoice # must be unique."}]}]}"#
        #expect(XeroResponse.errorMessage(status: 200, body: bytes(text: body))
                == "ValidationException: SHP-1042: Invoice # must be unique.")
        #expect(XeroResponse.errorMessage(status: 200, body: try bytes("xero/invoice-create-200.json")) == nil)
    }

    @Test func problemShapes() {
        #expect(XeroResponse.errorMessage(status: 401, body: bytes(text: #"{"Type":null,"Title":"Unauthorized","Status":401,"Detail":"AuthenticationUnsuccessful"}"#))
                == "Unauthorized: AuthenticationUnsuccessful")
        #expect(XeroResponse.errorMessage(status: 403, body: bytes(text: #"{"Type":"about:blank","Title":"Forbidden","Status":403,"Detail":"AuthorizationUnsuccessful"}"#))
                == "Forbidden: AuthorizationUnsuccessful")
        #expect(XeroResponse.errorMessage(status: 429, body: bytes(text: #"{"Type":"RateLimitExceeded","Title":"Too many requests","Detail":"Minute limit hit"}"#))
                == "RateLimitExceeded: Too many requests: Minute limit hit")
        #expect(XeroResponse.errorMessage(status: 404, body: bytes(text: #"{"Title":"Not Found"}"#)) == "Not Found")
        #expect(XeroResponse.errorMessage(status: 400, body: bytes(text: #"{"error":"invalid_grant"}"#)) == "invalid_grant")
    }

    @Test func messagesAreOneCleanLine() {
        let body = #"{"Title":"Bad\r\n\u001b[31mthing\t\t ","Detail":"x\u202Ey"}"#
        #expect(XeroResponse.errorMessage(status: 400, body: bytes(text: body)) == "Bad [31mthing: x y")
        let long = #"{"Title":""# + String(repeating: "a", count: 5000) + #""}"#
        let message = XeroResponse.errorMessage(status: 500, body: bytes(text: long))
        #expect(message?.count == XeroResponse.maxMessageLength)
    }

    @Test(arguments: ["", " ", "null", "[]", "{}", "42", "\"text\"", "<html><body>Bad Gateway</body></html>",
                      #"{"Type":"ValidationException","Elements":[{"ValidationErrors":[{"Message":"#,
                      #"{"Title":1,"Detail":["x"],"Elements":"no","Invoices":{"a":1}}"#,
                      #"{"Elements":[1,"x",null,{"ValidationErrors":"x"},{"ValidationErrors":[1,{"Message":2}]}]}"#])
    func unparseableBodiesGiveNil(_ body: String) {
        #expect(XeroResponse.errorMessage(status: 400, body: bytes(text: body)) == nil)
        #expect(XeroResponse.invoiceNumbers(fromSuccess: bytes(text: body)) == [])
    }

    @Test func hostileBytesGiveNil() throws {
        let deep = bytes(text: String(repeating: "[", count: 1_000_000))
        #expect(XeroResponse.errorMessage(status: 400, body: deep) == nil)
        let deepObject = bytes(text: String(repeating: #"{"Elements":"#, count: 10_000))
        #expect(XeroResponse.errorMessage(status: 400, body: deepObject) == nil)
        #expect(XeroResponse.errorMessage(status: 400, body: [0xFF, 0xFE, 0x00, 0x7B, 0x22]) == nil)
        #expect(XeroResponse.errorMessage(status: 400, body: bytes(text: #"{"Title":""#) + [0xC3, 0x28] + bytes(text: #""}"#)) == nil)
        var random = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let garbage = (0..<Int.random(in: 0..<64, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
            _ = XeroResponse.errorMessage(status: 400, body: garbage)
            _ = XeroResponse.invoiceNumbers(fromSuccess: garbage)
        }
        // A fixture cut short, as a transport keeping only the first bytes would.
        let cut = Array(try bytes("xero/validation-error-400.json").prefix(120))
        #expect(XeroResponse.errorMessage(status: 400, body: cut) == nil)
    }

    @Test func rateLimitFixture() throws {
        let text = String(decoding: try Data(contentsOf: Fixtures.url("xero/rate-limit-429.headers")), as: UTF8.self)
        var headers: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        #expect(XeroResponse.rateLimitProblem(headers: headers) == "Xero minute limit reached")
        #expect(XeroResponse.rateLimitProblem(headers: ["x-rate-limit-problem": "day"]) == "Xero daily limit reached")
        #expect(XeroResponse.rateLimitProblem(headers: ["X-Rate-Limit-Problem": "appminute"]) == "Xero app-wide minute limit reached")
        #expect(XeroResponse.rateLimitProblem(headers: ["X-Rate-Limit-Problem": "weekly\r\nX-Evil: 1"]) == "Xero rate limit reached (weekly X-Evil: 1)")
        #expect(XeroResponse.rateLimitProblem(headers: ["Retry-After": "27"]) == nil)
        #expect(XeroResponse.rateLimitProblem(headers: ["X-Rate-Limit-Problem": " "]) == nil)
    }

    @Test func invoiceNumbersFromSuccess() throws {
        #expect(XeroResponse.invoiceNumbers(fromSuccess: try bytes("xero/invoice-create-200.json")) == ["SHP-1042"])
        let two = #"{"Invoices":[{"InvoiceNumber":"SHP-1"},{"InvoiceID":"x"},{"InvoiceNumber":"SHP-2"}]}"#
        #expect(XeroResponse.invoiceNumbers(fromSuccess: bytes(text: two)) == ["SHP-1", "SHP-2"])
    }

    @Test("Xero's rate-limit headers read as the connector's quota, whatever their case; odd values ignored; none is no reading")
    func quotaHeaders() {
        let at = Date(timeIntervalSince1970: 1_800_000_000)
        let reading = XeroResponse.quota(headers: ["x-daylimit-remaining": "4812", "X-MinLimit-Remaining": " 57 ",
                                                   "X-AppMinLimit-Remaining": "9990", "Content-Type": "application/json"], at: at)
        #expect(reading == QuotaReading(dayRemaining: 4812, dayLimit: 5000, minuteRemaining: 57, appMinuteRemaining: 9990, at: at))
        #expect(reading?.quota(connector: 9).observedAt == 1_800_000_000_000)
        #expect(XeroResponse.quota(headers: ["X-DayLimit-Remaining": "-1", "X-MinLimit-Remaining": "lots"], at: at) == nil)
        #expect(XeroResponse.quota(headers: ["X-DayLimit-Remaining": "0"], at: at)?.dayRemaining == 0)
        #expect(XeroResponse.quota(headers: ["Content-Type": "application/json"], at: at) == nil)
    }

    @Test("a quota binding hands readings to what the runtime bound, and nothing before")
    func quotaBinding() {
        let binding = QuotaBinding(reader: XeroResponse.quota)
        binding.observe(["X-DayLimit-Remaining": "10"])
        let seen = Mutex<[QuotaReading]>([])
        binding.bind { reading in seen.withLock { $0.append(reading) } }
        binding.observe(["X-DayLimit-Remaining": "9"])
        binding.observe(["Content-Type": "text/plain"])
        #expect(seen.withLock { $0.map(\.dayRemaining) } == [9])
    }
}
