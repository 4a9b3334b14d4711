import Foundation
import PatchbayDashboard
import PatchbayStore
import TerminalUI
import Testing

/// `:events since=…` reads durations as the command line and the configuration do.
@Suite("Dashboard: durations in : commands")
struct DurationCommandTests {
    private func command(_ harness: Harness, _ text: String) {
        harness.press(.character(":"))
        harness.type(text)
        harness.press(.enter)
    }

    @Test(":events since=1e12d says it is longer than 100 years (it trapped converting to Int64 milliseconds)")
    func hugeSince() throws {
        let harness = try Harness()
        command(harness, "events since=1e12d")
        let toast = try #require(harness.dashboard.state.toast)
        #expect(toast.isError)
        #expect(toast.message == "since=: '1e12d' is longer than 100 years")
        _ = harness.screen()
    }

    @Test(":events since= takes weeks and up to a hundred years; garbage gets the expected form")
    func sinceUnits() throws {
        let harness = try Harness()
        command(harness, "events since=1w")
        #expect(harness.dashboard.state.screen == .events)
        #expect(harness.dashboard.state.eventFilter.since == fixedNow.addingTimeInterval(-604_800))
        command(harness, "events since=36525d")
        #expect(harness.dashboard.state.toast?.isError != true)
        #expect(harness.dashboard.state.eventPage != nil)
        command(harness, "events since=soon")
        #expect(harness.dashboard.state.toast?.message.contains("expected a number and a unit like 90s, 15m, 2h, 7d, 1w") == true)
    }
}
