import Foundation

/// What an error says about asking again.
public enum Retryability: Sendable, Equatable {
  /// The server could not be reached or could not answer now: connection refused or lost, a
  /// timeout, 5xx, 408 or 429. The same request may succeed later; `retryAfter` is the
  /// server's own hint, when it gave one.
  case outage(retryAfter: Duration?)
  /// The answer will not change: a 4xx, a malformed reply, a local problem. Asking again only
  /// delays the failure.
  case final
}

/// An error that knows whether asking again can help. Errors that do not conform are final.
public protocol RetryClassified: Error {
  var retryability: Retryability { get }
}

/// The one retry policy of lava-runner: which failures are retried (by their
/// ``Retryability``), how long to wait between tries (exponential backoff with jitter, a
/// server's `Retry-After` honoured) and how long an outage may last before the caller gives up.
/// Every caller, GitLab's and LAVA's, uses it; only the numbers differ.
public struct RetryPolicy: Sendable, Equatable {
  public var initial: Duration
  public var maximum: Duration
  public var multiplier: Double
  /// Each delay is drawn from [delay × (1 − jitter), delay] so that many runners retrying
  /// together spread out.
  public var jitter: Double
  /// How long an outage may last, from its first failure, before the caller gives up; `nil`
  /// when the caller counts attempts instead or never gives up.
  public var patience: Duration?

  public init(
    initial: Duration = .seconds(1), maximum: Duration = .seconds(60), multiplier: Double = 2,
    jitter: Double = 0.3, patience: Duration? = nil
  ) {
    self.initial = initial
    self.maximum = maximum
    self.multiplier = multiplier
    self.jitter = jitter
    self.patience = patience
  }

  /// No waiting at all: for tests that exercise the retry logic, not the clock.
  public static let immediate = RetryPolicy(initial: .zero, maximum: .zero, multiplier: 1, jitter: 0)

  /// The delay before retry number `attempt` (1 for the first retry). A server's
  /// `Retry-After` wins when it asks for longer, up to `maximum`.
  public func delay(
    attempt: Int, retryAfter: Duration? = nil,
    random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
  ) -> Duration {
    let exponent = max(0, min(attempt - 1, 64))
    var base = initial
    for _ in 0..<exponent where base < maximum { base = base * multiplier }
    base = min(base, maximum)
    let jittered = jitter > 0 ? base * random((1 - jitter)...1) : base
    guard let retryAfter else { return jittered }
    return min(max(jittered, retryAfter), max(maximum, jittered))
  }

  /// Whether `error` is worth another try.
  public func retryability(of error: any Error) -> Retryability {
    (error as? any RetryClassified)?.retryability ?? .final
  }

  /// What an HTTP status says: 408, 429 and 5xx are outages, anything else is the answer.
  public static func retryability(ofStatus status: Int, retryAfter: Duration? = nil) -> Retryability {
    status == 408 || status == 429 || (500...599).contains(status) ? .outage(retryAfter: retryAfter) : .final
  }

  /// Whether an outage that began at `start` has outlasted ``patience`` at `now`.
  public func isExhausted(outageSince start: ContinuousClock.Instant, now: ContinuousClock.Instant) -> Bool {
    guard let patience else { return false }
    return now - start >= patience
  }
}

/// Durations as GitLab writes them (`90s`, `10m`, `1h 30m`, `2h30m`) or plain seconds (`600`).
public enum DurationText {
  public static func parse(_ text: String) -> Duration? {
    let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
    if trimmed.isEmpty { return nil }
    if let seconds = Int(trimmed) { return seconds >= 0 ? .seconds(seconds) : nil }
    var total: Int64 = 0
    var number: Int64? = nil
    var sawUnit = false
    for character in trimmed {
      if let digit = character.wholeNumberValue, character.isASCII {
        let (times, overflow1) = (number ?? 0).multipliedReportingOverflow(by: 10)
        let (sum, overflow2) = times.addingReportingOverflow(Int64(digit))
        if overflow1 || overflow2 { return nil }
        number = sum
      } else if character == " " {
        continue
      } else {
        guard let value = number else { return nil }
        let unit: Int64
        switch character {
        case "s": unit = 1
        case "m": unit = 60
        case "h": unit = 3600
        case "d": unit = 86_400
        default: return nil
        }
        let (product, overflow1) = value.multipliedReportingOverflow(by: unit)
        let (sum, overflow2) = total.addingReportingOverflow(product)
        if overflow1 || overflow2 || sum > 366 * 86_400 { return nil }
        total = sum
        number = nil
        sawUnit = true
      }
    }
    guard number == nil, sawUnit else { return nil }
    return .seconds(total)
  }

  /// `2m 5s`, `1h 30m`, `45s`: the form GitLab shows.
  public static func format(_ duration: Duration) -> String {
    var seconds = max(0, duration.components.seconds)
    if seconds == 0 { return "0s" }
    var parts: [String] = []
    let hours = seconds / 3600
    if hours > 0 { parts.append("\(hours)h") }
    seconds %= 3600
    if seconds / 60 > 0 { parts.append("\(seconds / 60)m") }
    if seconds % 60 > 0 { parts.append("\(seconds % 60)s") }
    return parts.joined(separator: " ")
  }
}
