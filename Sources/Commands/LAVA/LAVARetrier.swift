import Foundation
import Protocols

/// Requests to LAVA that wait out a flaky or absent server. A failure the ``RetryPolicy``
/// calls final (a 4xx, a malformed reply) ends the command at once; an outage (refused, lost,
/// timed out, 5xx, 429) is retried with growing pauses, said in the job log when it begins and
/// then once a ``LAVAPolling/outageNotice``, for at most `patience` from its first failure.
/// Each request waits out its own outage: a state request that gets through does not hide a
/// log request that keeps failing.
struct LAVARetrier: Sendable {
  let polling: LAVAPolling
  let patience: Duration
  /// Where the outage is reported, its errors masked.
  let context: any JobContext

  /// `what` names the request in messages, e.g. "the log of LAVA job 12".
  func run<T: Sendable>(_ what: String, _ request: () async throws -> T) async throws -> T {
    let clock = ContinuousClock()
    var attempt = 0
    var outageStart: (instant: ContinuousClock.Instant, wall: Date)?
    var lastNotice: ContinuousClock.Instant?
    while true {
      let tried = clock.now
      do {
        let value = try await request()
        if let outageStart, lastNotice != nil {
          await context.log.info(
            "LAVA reachable again after \(DurationText.format(clock.now - outageStart.instant)); carrying on")
        }
        return value
      } catch {
        if Task.isCancelled || error is CancellationError { throw error }
        // The same request would get the same oversized reply.
        if error is LAVAReplyTooLarge { throw error }
        guard case .outage(let retryAfter) = polling.retry.retryability(of: error) else {
          // The server said the request itself is wrong (bad token, unknown job) or answered
          // something unreadable: asking again would get the same answer.
          let reason = (error as? any JobFailure)?.failureReason ?? .runnerSystemFailure
          let verb = reason == .scriptFailure ? "LAVA refused to give" : "could not get"
          throw CommandFailure(reason, "\(verb) \(what): \(context.mask(error))")
        }
        attempt += 1
        let now = clock.now
        // The outage began when the first failed request was sent: a server that never answers
        // takes a whole call timeout to fail, and that time counts against the budget.
        let start = outageStart ?? (tried, Date() - (now - tried).timeInterval)
        outageStart = start
        let elapsed = now - start.instant
        if elapsed >= patience {
          throw CommandFailure(
            .runnerSystemFailure,
            "LAVA unreachable since \(Self.clockTime(start.wall)) for \(DurationText.format(elapsed)), "
              + "longer than the outage budget of \(DurationText.format(patience)) (LAVA_OUTAGE_TIMEOUT); "
              + "gave up on \(what). The last error: \(context.mask(error))")
        }
        if lastNotice.map({ now - $0 >= polling.outageNotice }) ?? true {
          lastNotice = now
          await context.log.warning(
            "LAVA unreachable since \(Self.clockTime(start.wall)) (\(DurationText.format(elapsed)) of "
              + "\(DurationText.format(patience))), asking again for \(what): \(context.mask(error))")
        }
        let pause = min(polling.retry.delay(attempt: attempt, retryAfter: retryAfter), patience - elapsed)
        try await Task.sleep(for: max(pause, .milliseconds(1)))
      }
    }
  }

  static func clockTime(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "HH:mm:ss 'UTC'"
    return formatter.string(from: date)
  }

  static func format(_ duration: Duration) -> String {
    let milliseconds =
      duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
  }
}

extension Duration {
  fileprivate var timeInterval: TimeInterval {
    Double(components.seconds) + Double(components.attoseconds) / 1e18
  }
}
