// A peer's reading progress, from one look to the next.
import UV
import Testing

@Test func readProgressSparesASlowReaderButNotAStalledOne() {
    var progress = ReadProgress()
    let looks = [900, 500, 500, 0].map { progress.isReading(unread: $0) }
    // Something unread at the first look; less later (reading); no change for a period (stalled); nothing left.
    #expect(looks == [true, true, false, false])
}
