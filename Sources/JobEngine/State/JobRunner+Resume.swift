import Foundation
import GitLabAPI
import Logging
import Protocols
import RunnerCore

/// A job a previous runner held, as the restarted runner found it.
struct Resumption: Sendable {
  var record: JobRecord
  /// GitLab no longer runs the job (cancelled, ended, token refused): the resumed command only
  /// cleans up (its LAVA jobs per LAVA_CANCELLATION), nothing more is sent to GitLab's log.
  var gone: Bool
}

/// What GitLab says of a job a restarted runner finds in its state directory.
package enum ResumeCheck: Equatable, Sendable {
  case running
  /// Cancelled with `after_script` still to run (`Job-Status: canceling`).
  case canceling
  /// Cancelled, ended or deleted, or its token refused.
  case gone(String)
}

extension JobRunner {
  /// Finishes a job a previous runner held (its record in the state directory): asks GitLab
  /// whether it still runs, then resumes it, or, when GitLab no longer runs it, lets its command
  /// clean up (its LAVA jobs per LAVA_CANCELLATION) and removes the record.
  package func resume(_ saved: StateDirectory.SavedJob, control: JobControl = JobControl()) async {
    var logger = logger
    let job = saved.record.payload
    logger[metadataKey: "gitlab.job.id"] = "\(job.id)"
    let check = await self.check(job)
    switch check {
    case .running: break
    case .canceling: control.cancel(.canceledGracefully)
    case .gone: control.cancel(.canceledImmediately)
    }
    if case .gone(let why) = check {
      logger.info(
        "a job held before the restart is no longer running in GitLab; cleaning up",
        metadata: ["status": "\(why)"])
    }
    let state = JobState(resuming: saved, logger: logger)
    var gone = false
    if case .gone = check { gone = true }
    await run(
      job, folder: saved.folder, state: state, resuming: Resumption(record: saved.record, gone: gone),
      control: control, logger: logger)
  }

  /// Fails, with `runner_system_failure` and a line in its log saying why, a job whose record
  /// could not be read but whose id and token could. GitLab's answers say whether it still runs.
  package func failUnreadable(_ corrupt: StateDirectory.CorruptJob) async {
    guard let id = corrupt.jobID, let token = corrupt.token else { return }
    var logger = logger
    logger[metadataKey: "gitlab.job.id"] = "\(id)"
    if case .gone = await check(JobPayload(id: id, token: token)) { return }
    let control = JobControl()
    let spool = corrupt.movedTo.appendingPathComponent(JobRecord.traceFileName)
    let masker = SecretMasker(secrets: [token, client.runnerToken])
    guard let trace = try? JobTrace(spoolURL: spool, masker: masker, continuing: true) else { return }
    defer { trace.close() }
    // GitLab holds an unknown part of the spool: sending from 0 makes it say how much (416).
    trace.gitLabHolds(0)
    if !trace.endsWithNewline { await trace.write("\n") }
    await trace.error(
      "lava-runner restarted, but its record of this job could not be read (\(corrupt.problem)); "
        + "the job cannot be resumed and is failed as a runner system failure: retry it")
    let (checksum, size) = trace.finish()
    let uploader = TraceUploader(
      client: client, jobID: id, jobToken: token, trace: trace, control: control,
      interval: settings.traceInterval, backoff: settings.backoff)
    await withTaskGroup(of: Void.self) { group in
      group.addTask { await uploader.run() }
      if await !trace.waitUntilDrained(timeout: settings.finalUpdatePatience) { trace.abandon() }
      group.cancelAll()
    }
    let reporter = JobReporter(
      client: client, jobID: id, jobToken: token, control: control, backoff: settings.backoff,
      finalUpdatePatience: settings.finalUpdatePatience)
    _ = await reporter.reportFinal(.failed(.runnerSystemFailure), checksum: checksum, size: size) {}
    logger.warning(
      "failed a job whose record could not be read", metadata: ["moved_to": "\(corrupt.movedTo.path)"])
  }

  /// Asks GitLab (`PUT jobs/:id` with `running`, the keep-alive) whether the job still runs.
  /// GitLab unreachable: the job is resumed and its own calls learn its fate.
  func check(_ job: JobPayload) async -> ResumeCheck {
    for attempt in 1...5 {
      do {
        let reply = try await client.updateJob(jobID: job.id, jobToken: job.token, .running)
        switch reply.status {
        case 200..<300:
          switch reply.jobStatus {
          case "canceling": return .canceling
          case "canceled", "failed", "success": return .gone(reply.jobStatus!)
          default: return .running
          }
        case 401, 403, 404, 410:
          return .gone(reply.jobStatus ?? "job token refused (\(reply.status))")
        default:
          try? await Task.sleep(for: settings.backoff.delay(attempt: attempt, retryAfter: reply.retryAfter))
        }
      } catch {
        if Task.isCancelled { return .running }
        try? await Task.sleep(for: settings.backoff.delay(attempt: attempt))
      }
    }
    return .running
  }
}
