import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

@Suite struct BackoffTests {
  let backoff = Backoff(initial: .seconds(1), maximum: .seconds(30), multiplier: 2, jitter: 0.5)

  @Test func delaysGrowExponentiallyUpToTheMaximum() {
    let top = { (range: ClosedRange<Double>) in range.upperBound }
    #expect(
      (1...7).map { backoff.delay(attempt: $0, random: top) }
        == [1, 2, 4, 8, 16, 30, 30].map { .seconds($0) })
  }

  @Test func jitterShortensTheDelayWithinItsFraction() {
    let bottom = { (range: ClosedRange<Double>) in range.lowerBound }
    #expect(backoff.delay(attempt: 3, random: bottom) == .seconds(2))
  }

  @Test func retryAfterWinsWhenLongerButIsCapped() {
    let top = { (range: ClosedRange<Double>) in range.upperBound }
    #expect(backoff.delay(attempt: 1, retryAfter: .seconds(10), random: top) == .seconds(10))
    #expect(backoff.delay(attempt: 1, retryAfter: .seconds(3600), random: top) == .seconds(30))
    #expect(backoff.delay(attempt: 4, retryAfter: .seconds(1), random: top) == .seconds(8))
  }
}
