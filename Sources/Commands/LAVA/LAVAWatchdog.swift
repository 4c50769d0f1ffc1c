import Foundation
import Protocols

/// LAVA_HANG_TIMEOUT and LAVA_QUEUE_TIMEOUT for one followed LAVA job: fed with the lines and
/// states the follower sees, it says when the job has hung or waited too long in the queue.
struct LAVAWatchdog: Sendable {
  enum Alarm: Sendable, Equatable {
    /// Running, and nothing new in the log for `quiet`.
    case hang(quiet: Duration)
    /// Still queued `waited` after the watch began.
    case queued(waited: Duration)
  }

  var hangTimeout: Duration?
  var queueTimeout: Duration?
  /// When the watch began: the submission, or for `monitor-file` the first look.
  private let began: ContinuousClock.Instant
  /// The last new line or the start of the run, whichever is later; nil until the job runs.
  private var lastSign: ContinuousClock.Instant?
  /// When the last read of the log began (the newest). A hang is declared only from a read
  /// that began LAVA_HANG_TIMEOUT after the last sign of life and brought nothing new: a runner
  /// that could not look for a while (starved of CPU, its process stopped, a slow round) must
  /// not take its own absence for a quiet device.
  private var lastLook: ContinuousClock.Instant?
  /// When the job was first seen running, as a date for the attempt's record.
  private(set) var runningSince: Date?

  init(hangTimeout: Duration?, queueTimeout: Duration?, began: ContinuousClock.Instant = .now) {
    self.hangTimeout = hangTimeout
    self.queueTimeout = queueTimeout
    self.began = began
  }

  init(_ settings: LAVAAttemptSettings, began: ContinuousClock.Instant = .now) {
    self.init(hangTimeout: settings.hangTimeout, queueTimeout: settings.queueTimeout, began: began)
  }

  /// The instant on this process's clock that was `date` on the wall clock (never later than
  /// `now`): a watch a runner that died began goes on counting from then, so that a restart
  /// does not give a queued job another LAVA_QUEUE_TIMEOUT.
  static func instant(of date: Date?, now: ContinuousClock.Instant = .now) -> ContinuousClock.Instant {
    guard let date else { return now }
    return now - .seconds(max(0, Date().timeIntervalSince(date)))
  }

  /// When the job last showed a sign of life (its first running state or its last new line), on
  /// the wall clock, for a checkpoint; nil until it runs.
  func quietSince(now: ContinuousClock.Instant = .now) -> Date? {
    lastSign.map { Date().addingTimeInterval(-Self.seconds(now - $0)) }
  }

  /// Whether the job has been seen running.
  var sawRunning: Bool { lastSign != nil }

  /// Goes on from what a runner that died saved (``quietSince(now:)`` and ``runningSince``), so
  /// that a restart does not give a quiet running job another LAVA_HANG_TIMEOUT.
  mutating func resume(quietSince: Date?, runningSince: Date?, now: ContinuousClock.Instant = .now) {
    guard let quietSince else { return }
    lastSign = Self.instant(of: quietSince, now: now)
    self.runningSince = runningSince ?? quietSince
  }

  private static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
  }

  /// New log lines were read at `now`.
  mutating func sawLines(at now: ContinuousClock.Instant) {
    if lastSign != nil { lastSign = now }
  }

  /// A read of the log that began at `start` has ended (with new lines or without).
  mutating func lookedAtLog(at start: ContinuousClock.Instant) {
    lastLook = max(lastLook ?? start, start)
  }

  /// The job's state at `now`; an alarm when a watchdog fires.
  mutating func check(_ state: LAVAJobState, at now: ContinuousClock.Instant) -> Alarm? {
    switch state {
    case .submitted, .scheduling:
      if let queueTimeout, now - began >= queueTimeout { return .queued(waited: now - began) }
    case .running:
      guard let lastSign else {
        lastSign = now
        runningSince = Date()
        return nil
      }
      if let hangTimeout, let lastLook, lastLook - lastSign >= hangTimeout {
        return .hang(quiet: now - lastSign)
      }
    case .scheduled, .canceling, .finished:
      break
    }
    return nil
  }
}

extension LAVAServer {
  /// What a job stuck in the queue is told about its device type; never fails (the reason the
  /// facts are missing is said instead).
  func queueFacts(of job: LAVAJob, retrier: LAVARetrier) async -> String {
    guard let deviceType = job.deviceType, !deviceType.isEmpty else {
      return "LAVA did not say which device type it waits for"
    }
    do {
      let facts = try await retrier.run("the devices and queue of device type \(deviceType)") {
        try await queue(ofDeviceType: deviceType, before: job.id)
      }
      return facts.description
    } catch {
      return
        "device type \(deviceType) (its devices and queue could not be read: \(retrier.context.mask(error)))"
    }
  }
}
