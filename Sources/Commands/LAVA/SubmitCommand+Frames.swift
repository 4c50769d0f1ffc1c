import Foundation
import Protocols

/// The parts of ``SubmitCommand/follow(_:_:attempt:watcher:resuming:progress:)`` that run once,
/// before or after its LAVA jobs are followed, kept out of line.
///
/// An async function's frame holds the locals of everything inlined into it, and a task keeps
/// the memory of its deepest chain of frames for as long as it lives: inlined, these made the
/// frame the command waits in 15 KB, paid by every job that waits on LAVA (issue 10: 1000
/// waiting jobs in one runner).
extension SubmitCommand {
  /// The follower of LAVA job `id` of `ids`, and its `<id>_log.yaml` (offered as an artifact).
  @inline(never)
  func follower(
    _ id: Int64, of ids: [Int64], _ session: LAVACommandSession, volume: LAVALogVolume,
    watcher: (any LAVALineWatcher)?, resuming saved: SubmitCheckpoint, progress: SubmitProgress
  ) async throws -> (LAVALogFollower, LAVALogFile) {
    let context = session.context
    let file = try await logFile(id, resuming: saved.logs[id], session)
    try await context.offerArtifact(named: LAVAArtifactNames.log(id), file: file.url)
    var follower = LAVALogFollower(
      server: session.server, id: id,
      renderer: LAVALogRenderer(
        prefix: ids.count == 1 ? "" : "[\(id)] ",
        deviceSections: session.settings.deviceSections && ids.count == 1,
        levels: session.settings.logLevels, volume: volume),
      file: file, log: context.log, polling: polling, retrier: session.retrier,
      sections: ids.count == 1,
      watchdog: LAVAWatchdog(session.settings.attempts, began: LAVAWatchdog.instant(of: saved.submitted)),
      watcher: watcher, jobWatcher: session.watcher
    )
    follower.resume = saved.logs[id]
    follower.watchdog.resume(
      quietSince: saved.logs[id]?.quietSince, runningSince: saved.logs[id]?.runningSince)
    if context.keepsCheckpoints {
      follower.progress = { try await progress.log(id, $0, volume: volume.snapshot) }
      follower.freshMasker = { context.makeMasker() }
    }
    return (follower, file)
  }

  /// Saves the outcomes, then the report of each LAVA job, in `ids` order, and when the first
  /// was seen running.
  @inline(never)
  func reports(
    _ ids: [Int64], _ outcomes: [Int64: LAVALogFollower.Outcome], _ session: LAVACommandSession,
    label: String?, progress: SubmitProgress
  ) async throws -> (reports: [LAVAJobReport], started: Date?) {
    try await progress.concluding(
      outcomes.mapValues {
        SubmitCheckpoint.Outcome(
          job: LAVAJobRecord($0.job), error: $0.error.bounded(), stop: $0.stop, started: $0.started)
      })
    var reports: [LAVAJobReport] = []
    let groupStop = LAVAGroupStop.first(in: ids.compactMap { id in outcomes[id].map { (id, $0.stop) } })
    for id in ids {
      guard let outcome = outcomes[id] else { continue }
      let stop =
        outcome.stop
        ?? (outcome.job.health == .complete ? nil : groupStop.flatMap { LAVAGroupStop.of(id, $0) })
      reports.append(
        await session.report(id, job: outcome.job, error: outcome.error, stop: stop, attempt: label))
    }
    return (reports, outcomes.values.compactMap(\.started).min())
  }
}
