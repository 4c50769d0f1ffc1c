import Foundation
import Protocols

/// Follows one LAVA job for `submit`: streams its log into the job log and `<id>_log.yaml` until
/// the job has finished and a last poll of the log brings nothing new.
///
/// Lines are counted as they are consumed and the log is always asked from that count, so a
/// failed request is repeated from the same place: no line is lost or shown twice.
struct LAVALogFollower: Sendable {
  let server: any LAVAServer
  let id: Int64
  let renderer: LAVALogRenderer
  let file: LAVALogFile
  let log: any JobLog
  let polling: LAVAPolling
  let retrier: LAVARetrier
  /// Collapsible sections per LAVA action, test run and test case; off when several LAVA jobs
  /// share the job log (their sections would interleave).
  var sections = true
  /// LAVA_HANG_TIMEOUT and LAVA_QUEUE_TIMEOUT; none by default.
  var watchdog = LAVAWatchdog(hangTimeout: nil, queueTimeout: nil)
  /// Sees every line as it is read and may end the job (known issues).
  var watcher: (any LAVALineWatcher)?
  /// Where a runner that died left this job's log; nil on a first run.
  var resume: LAVAFollowCheckpoint?
  /// Called after each page of lines written and each state change shown, to save the
  /// progress; nil when the runner keeps no checkpoints.
  var progress: (@Sendable (LAVAFollowCheckpoint) async throws -> Void)?
  /// A masker of the job's secrets for the file after a checkpoint (``LAVALogFile/checkpoint(fresh:)``).
  var freshMasker: (@Sendable () -> any StreamMasker)?
  /// The process's watcher of the server's jobs: the job's state comes from it and its log is
  /// asked only once it runs. Nil: the follower asks the job's state itself.
  var jobWatcher: (any LAVAJobWatcher)?

  struct Outcome: Sendable {
    var job: LAVAJob
    var error: LAVAJobError
    var lineCount: Int
    /// The top-level LAVA action during which the job failed, e.g. `2 boot-image-retry`.
    var failedAction: String?
    /// Why the job was cancelled before LAVA finished it; nil when it ran its course.
    var stop: LAVAFollowStop?
    /// When the job was first seen running.
    var started: Date?
  }

  /// While lines flow the log alone shows the job is alive; its state is still asked now and then
  /// so that the device and a change such as Canceling show up.
  static let linePollsPerStatePoll = 10
  /// A batch this large suggests a log being caught up on (a page of it): ask again at once.
  static let catchUpBatch = 500
  /// So does a batch of this many bytes: a client hands over a log of long lines in batches of
  /// a bounded size rather than all at once.
  static let catchUpBytes = 8 << 20

  func follow() async throws -> Outcome {
    var structure = startingSections()
    do {
      let outcome = try await follow(structure: &structure)
      return await finished(outcome, &structure)
    } catch {
      await closeSections(&structure, after: error)
      throw error
    }
  }

  // The steps of `follow()` that run once, out of line: the follower's task keeps the frame
  // `follow()` waits in for its whole life (issue 10: memory per waiting job).

  @inline(never)
  private func startingSections() -> LAVALogSections {
    resume?.sections.map { LAVALogSections(jobID: id, renderer: renderer, restoring: $0) }
      ?? LAVALogSections(jobID: id, renderer: renderer)
  }

  @inline(never)
  private func finished(_ outcome: Outcome, _ structure: inout LAVALogSections) async -> Outcome {
    var outcome = outcome
    await log.write(structure.finish(outcome.stop.map(Self.describe)))
    outcome.failedAction = structure.failedAction
    return outcome
  }

  /// Whatever stopped the log (cancellation, timeout, LAVA gone): no section stays open.
  @inline(never)
  private func closeSections(_ structure: inout LAVALogSections, after error: any Error) async {
    let why =
      error is CancellationError || Task.isCancelled
      ? "the command was stopped" : "the log could not be read"
    await log.write(structure.finish(why))
  }

  private func follow(structure: inout LAVALogSections) async throws -> Outcome {
    if let jobWatcher { return try await followWatched(jobWatcher, structure: &structure) }
    return try await followPolled(structure: &structure)
  }

  /// Follows the job with requests of its own. Out of line, as are the rare paths it takes
  /// (``stop(_:job:error:consumed:watchdog:)``, ``checkpoint(_:_:_:_:_:)``): an async function's
  /// frame holds every local of what is inlined into it, and a task keeps the memory of its
  /// deepest frames for as long as it lives, so a follower waiting with the watcher must not
  /// pay for this loop (issue 10: memory per waiting job).
  @inline(never)
  private func followPolled(structure: inout LAVALogSections) async throws -> Outcome {
    var consumed = resume?.consumed ?? 0
    var error = resume?.error ?? LAVAJobError()
    var lastJob = try resume?.lastJob?.job()
    var sawFinished = lastJob?.state == .finished
    var pause = polling.active
    var linePollsSinceState = 0
    var watchdog = self.watchdog
    let clock = ContinuousClock()
    while true {
      try Task.checkCancellation()
      // Each page is written out before the next is asked for; `consumed` counts what was, so
      // a failure after some pages is asked again from there.
      let (batch, verdict) = try await readPages(
        from: &consumed, structure: &structure, error: &error, watchdog: &watchdog, job: lastJob, clock: clock
      )
      if batch.lines > 0 {
        if let verdict, let lastJob {
          return try await stop(
            .line(verdict), job: lastJob, error: error, consumed: consumed, watchdog: watchdog)
        } else if let verdict {
          let job = try await retrier.run("the state of LAVA job \(id)") { try await server.job(id) }
          return try await stop(
            .line(verdict), job: job, error: error, consumed: consumed, watchdog: watchdog)
        }
        linePollsSinceState += 1
        pause = polling.active
      } else if sawFinished, let lastJob {
        // Finished, and a poll after that brought nothing: the log is complete.
        return Outcome(
          job: lastJob, error: error, lineCount: consumed, failedAction: nil, started: watchdog.runningSince)
      }
      if batch.lines == 0 || linePollsSinceState >= Self.linePollsPerStatePoll {
        linePollsSinceState = 0
        let job = try await retrier.run("the state of LAVA job \(id)") { try await server.job(id) }
        let change = LAVAStateChange.describe(job, after: lastJob)
        if let change { await log.line(renderer.prefix + change, color: .cyan) }
        lastJob = job
        if change != nil { try await checkpoint(consumed, structure, error, lastJob, watchdog) }
        switch watchdog.check(job.state, at: clock.now) {
        case .hang(let quiet)?:
          return try await stop(
            .hang(quiet: quiet), job: job, error: error, consumed: consumed, watchdog: watchdog)
        case .queued(let waited)?:
          let facts = await server.queueFacts(of: job, retrier: retrier)
          return try await stop(
            .queued(waited: waited, facts: facts), job: job, error: error, consumed: consumed,
            watchdog: watchdog)
        case nil: break
        }
        if job.state == .finished {
          sawFinished = true
          // LAVA may have written the last lines between the two requests: ask at once.
          if batch.lines == 0 { continue }
        }
        if batch.lines == 0 { pause = change == nil ? polling.quieter(than: pause) : polling.active }
      }
      if batch.lines < Self.catchUpBatch, batch.bytes < Self.catchUpBytes {
        try await Task.sleep(for: pause)
      }
    }
  }
}

extension LAVALogFollower {
  /// Saves how far the log got, after what it counts has been written to the job log.
  @inline(never)
  func checkpoint(
    _ consumed: Int, _ structure: LAVALogSections, _ error: LAVAJobError, _ job: LAVAJob?,
    _ watchdog: LAVAWatchdog
  ) async throws {
    guard let progress, let freshMasker else { return }
    try await progress(
      LAVAFollowCheckpoint(
        consumed: consumed, fileLength: try file.checkpoint(fresh: freshMasker()),
        sections: sections ? structure.snapshot : nil, error: error, lastJob: job.map(LAVAJobRecord.init),
        quietSince: watchdog.quietSince(), runningSince: watchdog.runningSince
      ).bounded())
  }

  /// Ends the follow before LAVA finished the job: says why, cancels the job in LAVA (a failed
  /// cancel is said, not thrown: the attempt is over either way).
  @inline(never)
  func stop(
    _ reason: LAVAFollowStop, job: LAVAJob, error: LAVAJobError, consumed: Int, watchdog: LAVAWatchdog
  ) async throws -> Outcome {
    try Task.checkCancellation()
    await log.warning(renderer.prefix + "LAVA job \(id): \(Self.describe(reason)); canceling it in LAVA")
    do {
      try await retrier.run("the cancellation of LAVA job \(id)") { try await server.cancel(id) }
    } catch {
      if Task.isCancelled { throw error }
      await log.error(
        renderer.prefix + "LAVA job \(id) could not be canceled: \(retrier.context.mask(error)); check "
          + server.webURL(of: id).absoluteString)
    }
    return Outcome(
      job: job, error: error, lineCount: consumed, failedAction: nil, stop: reason,
      started: watchdog.runningSince)
  }

  static func describe(_ reason: LAVAFollowStop) -> String {
    switch reason {
    case .hang(let quiet):
      "no new log line for \(DurationText.format(quiet)) while running (LAVA_HANG_TIMEOUT)"
    case .queued(let waited, _): "still queued after \(DurationText.format(waited)) (LAVA_QUEUE_TIMEOUT)"
    case .line(.retry(let message)): "\(message) (a known issue: retry)"
    case .line(.fail(let message)): "\(message) (a known issue: fail)"
    case .line(.note(let message)): message
    case .group(let id, _): "canceled with LAVA job \(id) of the same multinode submission"
    }
  }
}

/// The lines both commands write when a LAVA job moves on.
enum LAVAStateChange {
  static func describe(_ job: LAVAJob, after previous: LAVAJob?) -> String? {
    if let previous, previous.state == job.state, previous.health == job.health, previous.device == job.device
    {
      return nil
    }
    let name = "LAVA job \(job.id)"
    switch job.state {
    case .submitted, .scheduling:
      return "\(name) is queued (\(job.state.rawValue)"
        + (job.deviceType.map { ", waiting for a \($0)" } ?? "") + ")"
    case .scheduled:
      return "\(name) is scheduled" + (job.device.map { " on \($0)" } ?? "")
    case .running:
      return "\(name) is running" + (job.device.map { " on \($0)" } ?? "")
    case .canceling:
      return "\(name) is being canceled"
    case .finished:
      return "\(name) finished: \(job.health.rawValue)"
    }
  }
}

/// Cancels LAVA jobs when the GitLab job is cancelled, or says why they are left running.
///
/// Runs in a task of its own, awaited by the command: the command's task is already cancelled,
/// and LAVA clients refuse to send requests from a cancelled task.
struct LAVACleanup: Sendable {
  let server: any LAVAServer
  let policy: LAVACancellationPolicy
  let polling: LAVAPolling
  let context: any JobContext

  func run(ids: [Int64], cancellation: JobCancellation?) async {
    let why =
      switch cancellation {
      case .canceledGracefully?, .canceledImmediately?: "the GitLab job was canceled"
      case .timedOut?: "the GitLab job timed out"
      case .runnerShutdown?: "the runner is shutting down"
      case nil: "the command was stopped"
      }
    let cleanup = Task { [self] in
      guard policy == .cancel else {
        for id in ids {
          await context.log.warning(
            "\(why); LAVA job \(id) keeps running (LAVA_CANCELLATION=ignore): \(server.webURL(of: id).absoluteString)"
          )
        }
        return
      }
      let finished = await withTaskGroup(of: Bool.self) { group in
        group.addTask {
          for id in ids {
            do {
              try await server.cancel(id)
              await context.log.warning(
                "\(why); canceled LAVA job \(id): \(server.webURL(of: id).absoluteString)")
            } catch {
              await context.log.error(
                "\(why), but LAVA job \(id) could not be canceled: \(context.mask(error))")
            }
          }
          return true
        }
        group.addTask {
          try? await Task.sleep(for: polling.cleanupTimeout)
          return false
        }
        let first = await group.next() ?? false
        group.cancelAll()
        return first
      }
      if !finished {
        await context.log.error(
          "\(why), but canceling the LAVA jobs took longer than \(LAVARetrier.format(polling.cleanupTimeout)); "
            + "check them: " + ids.map { server.webURL(of: $0).absoluteString }.joined(separator: " "))
      }
    }
    await cleanup.value
  }
}
