import Protocols
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

@Suite struct RetryPolicyTests {
  let backoff = RetryPolicy(initial: .seconds(1), maximum: .seconds(30), multiplier: 2, jitter: 0.5)

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

  @Test func outagesAreRetriedAndAnswersAreFinal() {
    let policy = RetryPolicy()
    for status in [408, 429, 500, 502, 503, 504] {
      #expect(RetryPolicy.retryability(ofStatus: status) == .outage(retryAfter: nil), "\(status)")
    }
    for status in [400, 401, 403, 404, 405, 413, 422] {
      #expect(RetryPolicy.retryability(ofStatus: status) == .final, "\(status)")
    }
    let url = "http://127.0.0.1:9/"
    #expect(
      policy.retryability(of: HTTPClientError.connectionFailed(url: url, detail: "refused"))
        == .outage(retryAfter: nil))
    #expect(
      policy.retryability(of: HTTPClientError.connectionLost(url: url, detail: "reset"))
        == .outage(retryAfter: nil))
    #expect(
      policy.retryability(of: HTTPClientError.timedOut(url: url, detail: "60 s")) == .outage(retryAfter: nil))
    #expect(policy.retryability(of: HTTPClientError.tls(url: url, detail: "expired")) == .final)
    #expect(policy.retryability(of: HTTPClientError.bodyTooLarge(url: url, limit: 1)) == .final)
    #expect(
      policy.retryability(
        of: LAVAClientError.serverUnavailable(endpoint: "e", status: 503, body: "", retryAfter: .seconds(9)))
        == .outage(retryAfter: .seconds(9)))
    #expect(
      policy.retryability(of: LAVAClientError.malformedReply(endpoint: "e", detail: "not JSON")) == .final)
    #expect(
      policy.retryability(of: LAVAClientError.unexpectedStatus(endpoint: "e", status: 405, body: ""))
        == .final)
    #expect(
      policy.retryability(of: LAVAClientError.submissionUncertain(server: "s", detail: "502")) == .final)
    #expect(policy.retryability(of: CancellationError()) == .final)
  }

  @Test func anOutageOutlastsThePatienceOnlyAfterIt() {
    let policy = RetryPolicy(patience: .seconds(600))
    let start = ContinuousClock.now
    #expect(!policy.isExhausted(outageSince: start, now: start + .seconds(599)))
    #expect(policy.isExhausted(outageSince: start, now: start + .seconds(600)))
    #expect(!RetryPolicy().isExhausted(outageSince: start, now: start + .seconds(100_000)))
  }

  @Test(arguments: [
    ("90s", 90), ("10m", 600), ("1h 30m", 5400), ("2h30m", 9000), ("600", 600), (" 45 ", 45), ("1d", 86_400),
  ])
  func durationsAreReadAsGitLabWritesThem(text: String, seconds: Int64) {
    #expect(DurationText.parse(text) == .seconds(seconds))
  }

  @Test(arguments: ["", "soon", "-5", "10x", "m", "1h 30", "9999999999999h", "1.5m"])
  func unreadableDurationsAreRefused(text: String) {
    #expect(DurationText.parse(text) == nil)
  }

  @Test func durationsAreWrittenAsGitLabWritesThem() {
    #expect(DurationText.format(.seconds(0)) == "0s")
    #expect(DurationText.format(.seconds(45)) == "45s")
    #expect(DurationText.format(.seconds(125)) == "2m 5s")
    #expect(DurationText.format(.seconds(5400)) == "1h 30m")
  }
}
