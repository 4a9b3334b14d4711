import Testing
@testable import PatchbayInsights

@Test func peakHourReportsItsHourOfDayInUTC() {
    let peak = IntegrationMap.PeakHour(start: 3_600_000 * 24 * 3 + 3_600_000 * 14, events: 12)
    #expect(peak.hourOfDay == 14)
}
