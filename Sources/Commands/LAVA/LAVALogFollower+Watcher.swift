import Foundation
import Protocols

extension LAVALogFollower {
  /// Follows the job with the process's ``LAVAJobWatcher``: its state comes from the watcher's
  /// batched rounds and LAVA's events, never from a request of this job's own, and its log is
  /// asked for only once it runs (or has finished): a queued job costs LAVA nothing but its
  /// share of the watcher's round.
  func followWatched(_ watcher: any LAVAJobWatcher, structure: inout LAVALogSections) async throws -> Outcome
  {
    await watcher.register([id])
    do {
      let outcome = try await followWatchedLog(watcher, structure: &structure)
      await watcher.unregister([id])
      return outcome
    } catch {
      await watcher.unregister([id])
      throw error
    }
  }

  private func followWatchedLog(_ jobs: any LAVAJobWatcher, structure: inout LAVALogSections) async throws
    -> Outcome
  {
    // After a runner restart: from where the previous runner's checkpoint left the log.
    var consumed = resume?.consumed ?? 0
    var error = resume?.error ?? LAVAJobError()
    var job = try resume?.lastJob?.job()
    var pause = polling.active
    var watchdog = self.watchdog
    let clock = ContinuousClock()
    while true {
      try Task.checkCancellation()
      guard let current = job, !Self.waitsForDevice(current.state) else {
        // Nothing to read before the job runs: wait for the watcher to see it move on, and
        // look at the queue watchdog now and then meanwhile (no request of its own).
        if let next = try await stateChange(jobs, after: job, within: job == nil ? nil : polling.quietMax) {
          let changed = LAVAStateChange.describe(next, after: job) != nil
          job = try await note(next, after: job)
          pause = polling.active
          if changed { try await checkpoint(consumed, structure, error, job) }
        }
        if let job, let alarm = watchdog.check(job.state, at: clock.now) {
          return try await stop(alarm, job: job, error: error, consumed: consumed, watchdog: watchdog)
        }
        continue
      }
      // Page by page, each written (and checkpointed) before the next is asked for.
      var batch = LAVALogBatch()
      var verdict: LAVALineVerdict?
      try await retrier.run("the log of LAVA job \(id) from line \(consumed)") {
        try await server.logPages(of: id, from: consumed) { lines in
          try await write(lines, structure: &structure, error: &error, verdict: &verdict, clock: clock)
          watchdog.sawLines(at: clock.now)
          consumed += lines.count
          batch.add(lines)
          try await checkpoint(consumed, structure, error, job)
        }
      }
      if batch.lines > 0 {
        if let verdict {
          return try await stop(
            LAVAFollowStop.line(verdict), job: current, error: error, consumed: consumed, watchdog: watchdog)
        }
        pause = polling.active
      } else if current.state == .finished {
        // Finished before this request, which brought nothing: the log is complete.
        return Outcome(
          job: current, error: error, lineCount: consumed, failedAction: nil, started: watchdog.runningSince)
      }
      let catchingUp = batch.lines >= Self.catchUpBatch || batch.bytes >= Self.catchUpBytes
      if catchingUp { continue }
      if let newer = try await stateChange(jobs, after: current, within: pause) {
        let changed = LAVAStateChange.describe(newer, after: current) != nil
        job = try await note(newer, after: current)
        pause = polling.active
        if changed { try await checkpoint(consumed, structure, error, job) }
      } else if batch.lines == 0 {
        pause = polling.quieter(than: pause)
      }
      if let job, let alarm = watchdog.check(job.state, at: clock.now) {
        return try await stop(alarm, job: job, error: error, consumed: consumed, watchdog: watchdog)
      }
    }
  }

  /// Ends the follow for a watchdog's alarm, as the follower without a watcher does.
  private func stop(
    _ alarm: LAVAWatchdog.Alarm, job: LAVAJob, error: LAVAJobError, consumed: Int, watchdog: LAVAWatchdog
  ) async throws -> Outcome {
    switch alarm {
    case .hang(let quiet):
      return try await stop(
        LAVAFollowStop.hang(quiet: quiet), job: job, error: error, consumed: consumed, watchdog: watchdog)
    case .queued(let waited):
      let facts = await server.queueFacts(of: job, retrier: retrier)
      return try await stop(
        LAVAFollowStop.queued(waited: waited, facts: facts), job: job, error: error, consumed: consumed,
        watchdog: watchdog)
    }
  }

  /// Queued, or scheduled on a device that has not started it: no log yet.
  static func waitsForDevice(_ state: LAVAJobState) -> Bool {
    [.submitted, .scheduling, .scheduled].contains(state)
  }

  /// Writes the change from `previous` to `job`, if any, and returns `job`.
  private func note(_ job: LAVAJob, after previous: LAVAJob?) async throws -> LAVAJob {
    if let change = LAVAStateChange.describe(job, after: previous) {
      await log.line(renderer.prefix + change, color: .cyan)
    }
    return job
  }

  /// The job's state once the watcher sees it differ from `previous` (or, after an outage,
  /// once it reads it again); nil when `within` passes first. Outages are waited out by the
  /// retrier as for the log.
  private func stateChange(_ watcher: any LAVAJobWatcher, after previous: LAVAJob?, within: Duration?)
    async throws -> LAVAJob?
  {
    let (id, retrier) = (id, retrier)
    let known = previous.map { [id: $0] } ?? [:]
    let ask: @Sendable () async throws -> [Int64: LAVAJob]? = {
      try await retrier.run("the state of LAVA job \(id)") {
        try await watcher.nextChange(of: [id], after: known)
      }
    }
    let states: [Int64: LAVAJob]?
    if let within {
      states = try await withThrowingTaskGroup(of: [Int64: LAVAJob]?.self) { group in
        group.addTask { try await ask() }
        group.addTask {
          try await Task.sleep(for: within)
          return nil
        }
        defer { group.cancelAll() }
        return try await group.next() ?? nil
      }
    } else {
      states = try await ask()
    }
    guard let states else { return nil }
    guard let job = states[id] else {
      throw CommandFailure(
        .scriptFailure,
        "LAVA refused to give the state of LAVA job \(id): LAVA lists no job \(id) for this token")
    }
    return job
  }
}
