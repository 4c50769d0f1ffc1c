import Foundation
import Protocols

/// `monitor-file`'s watchdogs. It does not stream the LAVA logs, so a running job's log is
/// probed for new lines a few times per LAVA_HANG_TIMEOUT; each probe reads only the lines
/// since the last one, into `<id>_log.yaml`, where the final save goes on from. A job that hangs or stays queued too long is cancelled in LAVA and
/// counts as done: `monitor-file` never resubmits, the GitLab job fails.
struct LAVAMonitorWatch: Sendable {
  private var watchdogs: [Int64: LAVAWatchdog]
  private var lastProbe: [Int64: ContinuousClock.Instant] = [:]
  /// The jobs stopped by a watchdog, and why.
  private(set) var stops: [Int64: LAVAFollowStop] = [:]
  let settings: LAVAAttemptSettings
  /// Probes per hang timeout: a hang is seen at most a quarter of the timeout late.
  static let probesPerHangTimeout = 4

  /// A log the probes have read in part: its file, the lines in it and what they said.
  struct PartLog: Sendable {
    var file: LAVALogFile
    var consumed: Int
    var error: LAVAJobError
  }
  private(set) var logs: [Int64: PartLog] = [:]

  init(_ ids: [Int64], settings: LAVAAttemptSettings, began: ContinuousClock.Instant = .now) {
    self.settings = settings
    watchdogs = Dictionary(uniqueKeysWithValues: ids.map { ($0, LAVAWatchdog(settings, began: began)) })
  }

  /// What a checkpoint keeps of the watchdogs, so that a restarted runner goes on from it rather
  /// than giving a quiet running job another LAVA_HANG_TIMEOUT.
  struct Liveness: Sendable, Codable, Equatable {
    /// When each running job last showed a sign of life (first seen running, or new lines).
    var quietSince: [Int64: Date] = [:]
    /// How many of each job's log lines the probes had read: read again after a restart, they
    /// are no sign of life.
    var probedLines: [Int64: Int] = [:]
  }

  /// Lines the previous runner's probes had read, by job.
  private var probedBefore: [Int64: Int] = [:]

  var liveness: Liveness {
    let now = ContinuousClock.now
    return Liveness(
      quietSince: watchdogs.compactMapValues { $0.quietSince(now: now) },
      probedLines: probedBefore.merging(logs.mapValues(\.consumed)) { max($0, $1) })
  }

  /// Goes on from the ``liveness`` a runner that died saved.
  mutating func resume(_ saved: Liveness?) {
    guard let saved else { return }
    for (id, date) in saved.quietSince where watchdogs[id] != nil {
      watchdogs[id]?.resume(quietSince: date, runningSince: nil)
    }
    probedBefore = saved.probedLines
  }

  /// Closes the files of logs read in part (those not saved whole, e.g. when cancelled).
  func close() {
    for part in logs.values { part.file.close() }
  }

  /// Whether `id` needs no more waiting: finished, or stopped by a watchdog.
  func isDone(_ job: LAVAJob?) -> Bool {
    guard let job else { return false }
    return job.state == .finished || stops[job.id] != nil
  }

  /// Feeds the watchdogs with the jobs' states (and, for running ones, their logs); cancels
  /// the jobs whose watchdog fires. True when a job showed a new sign of life (seen running
  /// for the first time, or new lines): ``liveness`` changed and is worth saving.
  @discardableResult
  mutating func check(_ jobs: [LAVAJob], session: LAVACommandSession) async throws -> Bool {
    var lively = false
    let clock = ContinuousClock()
    let (server, retrier, log) = (session.server, session.retrier, session.context.log)
    for job in jobs where stops[job.id] == nil && job.state != .finished {
      guard var watchdog = watchdogs[job.id] else { continue }
      let now = clock.now
      if job.state == .running,
        lastProbe[job.id].map({ now - $0 >= settings.hangTimeout / Self.probesPerHangTimeout }) ?? true
      {
        lastProbe[job.id] = now
        let context = session.context
        var part =
          try logs[job.id]
          ?? PartLog(
            file: LAVALogFile(jobID: job.id, in: context.workingDirectory, masker: context.makeMasker()),
            consumed: 0, error: LAVAJobError())
        let seen = part.consumed
        let lines = try await retrier.run("the log of LAVA job \(job.id) from line \(seen)") {
          try await server.logLines(of: job.id, from: seen)
        }
        if !lines.isEmpty {
          try part.file.append(lines)
          for line in lines { part.error.note(line) }
          part.consumed += lines.count
          if part.consumed > probedBefore[job.id] ?? 0 {
            watchdog.sawLines(at: now)
            lively = true
          }
        }
        logs[job.id] = part
        watchdog.lookedAtLog(at: now)
      }
      if job.state == .running, !watchdog.sawRunning { lively = true }
      let alarm = watchdog.check(job.state, at: now)
      watchdogs[job.id] = watchdog
      let stop: LAVAFollowStop
      switch alarm {
      case nil: continue
      case .hang(let quiet)?: stop = .hang(quiet: quiet)
      case .queued(let waited)?:
        stop = .queued(waited: waited, facts: await server.queueFacts(of: job, retrier: retrier))
      }
      stops[job.id] = stop
      await log.warning("LAVA job \(job.id): \(LAVALogFollower.describe(stop)); canceling it in LAVA")
      do {
        try await retrier.run("the cancellation of LAVA job \(job.id)") { try await server.cancel(job.id) }
      } catch {
        if Task.isCancelled { throw error }
        await log.error(
          "LAVA job \(job.id) could not be canceled: \(session.context.mask(error)); check "
            + server.webURL(of: job.id).absoluteString)
      }
    }
    return lively
  }
}
