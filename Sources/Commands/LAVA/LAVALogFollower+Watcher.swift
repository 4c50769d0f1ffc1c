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

  /// Where a watched follow has got: kept by ``followWatchedLog(_:structure:)`` between its
  /// steps.
  struct WatchedFollow {
    var consumed: Int
    var error: LAVAJobError
    var job: LAVAJob?
    var pause: Duration
    var watchdog: LAVAWatchdog
  }

  /// The follow, one step at a time: waiting for the job to run, or reading its log. Each step
  /// is out of line: an async function's frame holds the locals of everything inlined into it,
  /// and a task keeps the memory of its deepest chain of frames for as long as it lives, so a
  /// job waiting in the queue (issue 10: a thousand of them in one runner) pays only for the
  /// wait, not for reading a log it does not have yet.
  @inline(never)
  private func followWatchedLog(_ jobs: any LAVAJobWatcher, structure: inout LAVALogSections) async throws
    -> Outcome
  {
    var follow = try startingFollow()
    let clock = ContinuousClock()
    while true {
      try Task.checkCancellation()
      let outcome: Outcome?
      if let current = follow.job, !Self.waitsForDevice(current.state) {
        outcome = try await readWhileRunning(current, jobs, &follow, structure: &structure, clock: clock)
      } else {
        outcome = try await waitToRun(jobs, &follow, structure: structure, clock: clock)
      }
      if let outcome { return outcome }
    }
  }

  /// Where a watched follow starts: after a runner restart, from where the previous runner's
  /// checkpoint left the log. Out of line, like the steps.
  @inline(never)
  private func startingFollow() throws -> WatchedFollow {
    WatchedFollow(
      consumed: resume?.consumed ?? 0, error: resume?.error ?? LAVAJobError(),
      job: try resume?.lastJob?.job(),
      pause: polling.active, watchdog: self.watchdog)
  }

  /// Nothing to read before the job runs: waits for the watcher to see it move on, and looks at
  /// the queue watchdog now and then meanwhile (no request of its own). Without a queue timeout
  /// there is nothing to look at: the wait needs no timer (whose two tasks per waiting job cost
  /// memory for nothing, issue 10). The outcome when the watchdog stopped the job.
  @inline(never)
  private func waitToRun(
    _ jobs: any LAVAJobWatcher, _ follow: inout WatchedFollow, structure: LAVALogSections,
    clock: ContinuousClock
  ) async throws -> Outcome? {
    let look = follow.job == nil || follow.watchdog.queueTimeout == nil ? nil : polling.quietMax
    let next = try await stateChange(jobs, after: follow.job, within: look)
    return try await afterWaiting(next, &follow, structure: structure, clock: clock)
  }

  /// `waitToRun` once the wait is over: notes the change and looks at the watchdog. Out of line,
  /// so that the frame a queued job waits in holds none of it (issue 10).
  @inline(never)
  private func afterWaiting(
    _ next: LAVAJob?, _ follow: inout WatchedFollow, structure: LAVALogSections, clock: ContinuousClock
  ) async throws -> Outcome? {
    if let next {
      let changed = LAVAStateChange.describe(next, after: follow.job) != nil
      follow.job = try await note(next, after: follow.job)
      follow.pause = polling.active
      if changed {
        try await checkpoint(follow.consumed, structure, follow.error, follow.job, follow.watchdog)
      }
    }
    if let job = follow.job, let alarm = follow.watchdog.check(job.state, at: clock.now) {
      return try await stop(
        alarm, job: job, error: follow.error, consumed: follow.consumed, watchdog: follow.watchdog)
    }
    return nil
  }

  /// Reads what the running (or just finished) job `current` wrote since the last step, then
  /// waits for its next state at most the polling pause. The outcome when the follow is over.
  @inline(never)
  private func readWhileRunning(
    _ current: LAVAJob, _ jobs: any LAVAJobWatcher, _ follow: inout WatchedFollow,
    structure: inout LAVALogSections, clock: ContinuousClock
  ) async throws -> Outcome? {
    // Page by page, each written (and checkpointed) before the next is asked for.
    let (batch, verdict) = try await readPages(
      from: &follow.consumed, structure: &structure, error: &follow.error, watchdog: &follow.watchdog,
      job: follow.job, clock: clock)
    if batch.lines > 0 {
      if let verdict {
        return try await stop(
          LAVAFollowStop.line(verdict), job: current, error: follow.error, consumed: follow.consumed,
          watchdog: follow.watchdog)
      }
      follow.pause = polling.active
    } else if current.state == .finished {
      // Finished before this request, which brought nothing: the log is complete.
      return Outcome(
        job: current, error: follow.error, lineCount: follow.consumed, failedAction: nil,
        started: follow.watchdog.runningSince)
    }
    let catchingUp = batch.lines >= Self.catchUpBatch || batch.bytes >= Self.catchUpBytes
    if catchingUp { return nil }
    if let newer = try await stateChange(jobs, after: current, within: follow.pause) {
      let changed = LAVAStateChange.describe(newer, after: current) != nil
      follow.job = try await note(newer, after: current)
      follow.pause = polling.active
      if changed {
        try await checkpoint(follow.consumed, structure, follow.error, follow.job, follow.watchdog)
      }
    } else if batch.lines == 0 {
      follow.pause = polling.quieter(than: follow.pause)
    }
    if let job = follow.job, let alarm = follow.watchdog.check(job.state, at: clock.now) {
      return try await stop(
        alarm, job: job, error: follow.error, consumed: follow.consumed, watchdog: follow.watchdog)
    }
    return nil
  }

  /// Reads the log from line `consumed` page by page, each written (and checkpointed) before
  /// the next is asked for; what was read, and the first verdict of the line watcher. Out of
  /// line: see ``followPolled(structure:)``.
  @inline(never)
  func readPages(
    from consumed: inout Int, structure: inout LAVALogSections, error: inout LAVAJobError,
    watchdog: inout LAVAWatchdog, job: LAVAJob?, clock: ContinuousClock
  ) async throws -> (batch: LAVALogBatch, verdict: LAVALineVerdict?) {
    var batch = LAVALogBatch()
    var verdict: LAVALineVerdict?
    let began = clock.now
    try await retrier.run("the log of LAVA job \(id) from line \(consumed)") {
      try await server.logPages(of: id, from: consumed) { lines in
        try await write(lines, structure: &structure, error: &error, verdict: &verdict, clock: clock)
        watchdog.sawLines(at: clock.now)
        consumed += lines.count
        batch.add(lines)
        // A resumed job goes on from the last page written.
        try await checkpoint(consumed, structure, error, job, watchdog)
      }
    }
    watchdog.lookedAtLog(at: began)
    return (batch, verdict)
  }

  /// Ends the follow for a watchdog's alarm, as the follower without a watcher does.
  @inline(never)
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
  @inline(never)
  private func note(_ job: LAVAJob, after previous: LAVAJob?) async throws -> LAVAJob {
    if let change = LAVAStateChange.describe(job, after: previous) {
      await log.line(renderer.prefix + change, color: .cyan)
    }
    return job
  }

  /// The job's state once the watcher sees it differ from `previous` (or, after an outage,
  /// once it reads it again); nil when `within` passes first. Outages are waited out by the
  /// retrier as for the log.
  @inline(never)
  private func stateChange(_ watcher: any LAVAJobWatcher, after previous: LAVAJob?, within: Duration?)
    async throws -> LAVAJob?
  {
    let known = previous.map { [id: $0] } ?? [:]
    let states = try await retrier.change(
      of: [id], after: known, on: watcher, what: "the state of LAVA job \(id)", within: within)
    guard let states else { return nil }
    guard let job = states[id] else {
      throw CommandFailure(
        .scriptFailure,
        "LAVA refused to give the state of LAVA job \(id): LAVA lists no job \(id) for this token")
    }
    return job
  }
}
