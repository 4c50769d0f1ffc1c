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
  /// LAVA_KNOWN_ISSUES, tried on every line; nil when the job names none.
  var knownIssues: LAVAKnownIssueWatcher?

  struct Outcome: Sendable {
    var job: LAVAJob
    var error: LAVAJobError
    var lineCount: Int
    /// The top-level LAVA action during which the job failed, e.g. `2 boot-image-retry`.
    var failedAction: String?
    /// The known issue (retry or fail) that ended following the job, which was then canceled.
    var knownIssue: LAVAKnownIssueHit?
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
    var structure = LAVALogSections(jobID: id, renderer: renderer)
    do {
      var outcome = try await follow(structure: &structure)
      await log.write(structure.finish())
      outcome.failedAction = structure.failedAction
      return outcome
    } catch {
      // Whatever stopped the log (cancellation, timeout, LAVA gone): no section stays open.
      let why =
        error is CancellationError || Task.isCancelled
        ? "the command was stopped" : "the log could not be read"
      await log.write(structure.finish(why))
      throw error
    }
  }

  private func follow(structure: inout LAVALogSections) async throws -> Outcome {
    var consumed = 0
    var error = LAVAJobError()
    var lastJob: LAVAJob?
    var sawFinished = false
    var pause = polling.active
    var linePollsSinceState = 0
    while true {
      try Task.checkCancellation()
      let lines = try await retrier.run("the log of LAVA job \(id) from line \(consumed)") {
        try await server.logLines(of: id, from: consumed)
      }
      if !lines.isEmpty {
        try file.append(lines)
        for line in lines {
          error.note(line)
          await log.write(sections ? structure.consume(line) : renderer.renderIfShown(line))
          if let hit = await applyKnownIssues(to: line) {
            let job = try await retrier.run("the state of LAVA job \(id)") { try await server.job(id) }
            return Outcome(
              job: job, error: error, lineCount: consumed + lines.count, failedAction: nil, knownIssue: hit)
          }
        }
        consumed += lines.count
        linePollsSinceState += 1
        pause = polling.active
      } else if sawFinished, let lastJob {
        // Finished, and a poll after that brought nothing: the log is complete.
        return Outcome(job: lastJob, error: error, lineCount: consumed, failedAction: nil)
      }
      if lines.isEmpty || linePollsSinceState >= Self.linePollsPerStatePoll {
        linePollsSinceState = 0
        let job = try await retrier.run("the state of LAVA job \(id)") { try await server.job(id) }
        let change = LAVAStateChange.describe(job, after: lastJob)
        if let change { await log.line(renderer.prefix + change, color: .cyan) }
        lastJob = job
        if job.state == .finished {
          sawFinished = true
          // LAVA may have written the last lines between the two requests: ask at once.
          if lines.isEmpty { continue }
        }
        if lines.isEmpty { pause = change == nil ? polling.quieter(than: pause) : polling.active }
      }
      if lines.count < Self.catchUpBatch, lines.reduce(0, { $0 + $1.raw.utf8.count }) < Self.catchUpBytes {
        try await Task.sleep(for: pause)
      }
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
