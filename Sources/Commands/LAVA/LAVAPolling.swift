import Foundation
import Protocols

/// How often LAVA is asked and how an outage is waited out; injectable so that tests run fast.
public struct LAVAPolling: Sendable, Equatable {
  /// Between polls while log lines or state changes flow: a new line reaches the job log
  /// within about two of these.
  public var active: Duration
  /// The longest pause while a job is queued or quiet; pauses double from ``active`` up to it.
  public var quietMax: Duration
  /// The pauses between tries while LAVA is unreachable: the one ``RetryPolicy``; how long the
  /// outage may last is the job's budget (LAVA_OUTAGE_TIMEOUT or the runner's default), not this.
  public var retry: RetryPolicy
  /// How often a continuing outage is reported in the job log.
  public var outageNotice: Duration
  /// How long cancelling LAVA jobs may take when the GitLab job is cancelled.
  public var cleanupTimeout: Duration

  public init(
    active: Duration, quietMax: Duration, retry: RetryPolicy, outageNotice: Duration, cleanupTimeout: Duration
  ) {
    self.active = active
    self.quietMax = quietMax
    self.retry = retry
    self.outageNotice = outageNotice
    self.cleanupTimeout = cleanupTimeout
  }

  /// About a second while lines flow, at most 15 s while quiet; while LAVA is away, tries 1, 2,
  /// 4, 8 then every 15 s, and a line in the job log once a minute.
  public static let standard = LAVAPolling(
    active: .seconds(1), quietMax: .seconds(15),
    retry: RetryPolicy(initial: .seconds(1), maximum: .seconds(15)),
    outageNotice: .seconds(60), cleanupTimeout: .seconds(10))

  func quieter(than interval: Duration) -> Duration {
    min(interval * 2, quietMax)
  }
}
