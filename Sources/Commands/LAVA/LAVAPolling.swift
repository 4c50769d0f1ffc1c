import Foundation
import Protocols

/// How often LAVA is asked and how hard the commands insist; injectable so that tests run fast.
public struct LAVAPolling: Sendable, Equatable {
  /// Between polls while log lines or state changes flow: a new line reaches the job log
  /// within about two of these.
  public var active: Duration
  /// The longest pause while a job is queued or quiet; pauses double from ``active`` up to it.
  public var quietMax: Duration
  /// The first pause after a failed request; it doubles up to ``quietMax``.
  public var retryDelay: Duration
  /// Consecutive failed requests after which a command gives up.
  public var attempts: Int
  /// How long cancelling LAVA jobs may take when the GitLab job is cancelled.
  public var cleanupTimeout: Duration

  public init(
    active: Duration, quietMax: Duration, retryDelay: Duration, attempts: Int, cleanupTimeout: Duration
  ) {
    self.active = active
    self.quietMax = quietMax
    self.retryDelay = retryDelay
    self.attempts = attempts
    self.cleanupTimeout = cleanupTimeout
  }

  /// About a second while lines flow, at most 15 s while quiet; 6 attempts span about a minute
  /// of server trouble (1 + 2 + 4 + 8 + 15 + 15 s).
  public static let standard = LAVAPolling(
    active: .seconds(1), quietMax: .seconds(15), retryDelay: .seconds(1), attempts: 6,
    cleanupTimeout: .seconds(10))

  func quieter(than interval: Duration) -> Duration {
    min(interval * 2, quietMax)
  }

  func retryPause(afterFailure count: Int) -> Duration {
    var pause = retryDelay
    for _ in 1..<max(count, 1) { pause = min(pause * 2, quietMax) }
    return pause
  }
}

/// Requests to LAVA that survive a flaky server: each is retried with growing pauses until it
/// succeeds, the failures stop being worth retrying, or ``LAVAPolling/attempts`` is exhausted.
struct LAVARetrier: Sendable {
  let polling: LAVAPolling
  /// Where retries are reported, their errors masked.
  let context: any JobContext

  /// `what` names the request in messages, e.g. "the log of LAVA job 12".
  func run<T: Sendable>(_ what: String, _ request: () async throws -> T) async throws -> T {
    var failures = 0
    while true {
      do {
        return try await request()
      } catch {
        if Task.isCancelled || error is CancellationError { throw error }
        // The same request would get the same oversized reply.
        if error is LAVAReplyTooLarge { throw error }
        // The server said the request itself is wrong (bad token, unknown job): asking again
        // would get the same answer.
        if let failure = error as? any JobFailure, failure.failureReason == .scriptFailure {
          throw CommandFailure(.scriptFailure, "LAVA refused to give \(what): \(context.mask(error))")
        }
        failures += 1
        if failures >= polling.attempts {
          throw CommandFailure(
            .runnerSystemFailure,
            "could not get \(what) from LAVA after \(failures) attempts; the last error: \(context.mask(error))"
          )
        }
        let pause = polling.retryPause(afterFailure: failures)
        await context.log.warning(
          "could not get \(what) (attempt \(failures) of \(polling.attempts)), retrying in "
            + "\(Self.format(pause)): \(context.mask(error))")
        try await Task.sleep(for: pause)
      }
    }
  }

  static func format(_ duration: Duration) -> String {
    let milliseconds =
      duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
  }
}
