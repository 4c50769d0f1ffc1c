import Protocols

/// Exponential backoff with jitter, for retrying requests to servers that are busy or away.
package struct Backoff: Sendable, Equatable {
  package var initial: Duration
  package var maximum: Duration
  package var multiplier: Double
  /// Each delay is drawn from [delay × (1 − jitter), delay] so that many runners retrying
  /// together spread out.
  package var jitter: Double

  package init(
    initial: Duration = .seconds(1), maximum: Duration = .seconds(60), multiplier: Double = 2,
    jitter: Double = 0.3
  ) {
    self.initial = initial
    self.maximum = maximum
    self.multiplier = multiplier
    self.jitter = jitter
  }

  /// No waiting at all: for tests that exercise the retry logic, not the clock.
  package static let immediate = Backoff(initial: .zero, maximum: .zero, multiplier: 1, jitter: 0)

  /// The delay before retry number `attempt` (1 for the first retry). A server's
  /// `Retry-After` wins when it asks for longer, up to `maximum`.
  package func delay(
    attempt: Int, retryAfter: Duration? = nil,
    random: (ClosedRange<Double>) -> Double = { Double.random(in: $0) }
  ) -> Duration {
    let exponent = Double(max(0, attempt - 1))
    let base = min(initial * pow(multiplier, exponent), maximum)
    let jittered = jitter > 0 ? base * random((1 - jitter)...1) : base
    guard let retryAfter else { return jittered }
    return min(max(jittered, retryAfter), max(maximum, jittered))
  }

  private func pow(_ base: Double, _ exponent: Double) -> Double {
    var result = 1.0
    for _ in 0..<Int(min(exponent, 64)) { result *= base }
    return result
  }
}
