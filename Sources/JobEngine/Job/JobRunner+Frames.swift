import Foundation
import GitLabAPI
import Logging
import Protocols
import RunnerCore

/// The parts of ``JobRunner/run(_:folder:state:resuming:control:logger:)`` that run once, before
/// or after the script, kept out of line.
///
/// An async function's frame holds the locals of everything inlined into it, and a task keeps
/// the memory of its deepest chain of frames for as long as it lives: inlined, these made the
/// frame every job waits in 10.8 KB (issue 10: 1000 jobs waiting on LAVA in one runner).
extension JobRunner {
  /// What a job runs with, made before its script starts.
  final class JobSetup: Sendable {
    let trace: JobTrace
    let script: JobScript
    let started: ContinuousClock.Instant
    let uploader: TraceUploader
    let reporter: JobReporter
    let context: RunnerJobContext
    let progress: RecordedProgress?

    init(
      trace: JobTrace, script: JobScript, started: ContinuousClock.Instant, uploader: TraceUploader,
      reporter: JobReporter, context: RunnerJobContext, progress: RecordedProgress?
    ) {
      self.trace = trace
      self.script = script
      self.started = started
      self.uploader = uploader
      self.reporter = reporter
      self.context = context
      self.progress = progress
    }
  }

  /// Where a new job runs: its folder in the state directory (with its record) when the runner
  /// keeps one and it can be made, else a folder of its own in the work root.
  @inline(never)
  func place(_ job: JobPayload, logger: Logger) -> (folder: URL, state: JobState?) {
    if let stateDirectory = settings.stateDirectory {
      do {
        let folder = try stateDirectory.newJobFolder(job.id)
        let state = try JobState(newJob: job, folder: folder, logger: logger)
        return (folder, state)
      } catch {
        logger.warning(
          "cannot record the job in the state directory; it runs without a record and cannot resume if the runner dies",
          metadata: ["error": "\(error)"])
        try? FileManager.default.removeItem(at: stateDirectory.jobsURL.appendingPathComponent(String(job.id)))
      }
    }
    let folder = settings.workRoot.appendingPathComponent(
      "lava-runner-job-\(job.id)-\(UUID().uuidString.prefix(8))")
    return (folder, nil)
  }

  /// The job's masker, trace, uploader, reporter and context; nil (logged) when its folder or
  /// its trace cannot be made.
  @inline(never)
  func setUp(
    _ job: JobPayload, folder: URL, state: JobState?, resuming: Resumption?, control: JobControl,
    logger: Logger
  ) -> JobSetup? {
    let record = resuming?.record
    let masker = SecretMasker(
      secrets: job.variables.filter(\.masked).map(\.value) + [job.token, client.runnerToken]
        + job.dependencies.map(\.token) + (record?.masks ?? []),
      tokenPrefixes: job.features.tokenMaskPrefixes)
    // What the resumed command wrote after its last checkpoint, it writes again: the spool is
    // cut back to that checkpoint, which GitLab was never sent beyond.
    var keeping: Int64?
    if let record, let mark = record.traceMark, mark >= record.traceHeld { keeping = mark }
    let trace: JobTrace
    do {
      try FileManager.default.createDirectory(
        at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
      trace = try JobTrace(
        spoolURL: state?.traceURL ?? folder.appendingPathComponent("trace.log"), masker: masker,
        continuing: resuming != nil, keeping: keeping)
    } catch {
      logger.error(
        "cannot create the job's folder", metadata: ["folder": "\(folder.path)", "error": "\(error)"])
      return nil
    }

    if let record { trace.gitLabHolds(record.traceHeld) }
    state?.attach(trace)
    // Made before the restart notice: it compares the log the previous runner left to its marks.
    let progress = state.map { RecordedProgress(state: $0, trace: trace, resumed: record) }
    if resuming?.gone == true { trace.abandon() }
    var script = JobScript(job)
    let started = ContinuousClock.now
    if let record, let timeout = script.timeout {
      let elapsed = Duration.seconds(max(0, Date().timeIntervalSince(record.startedAt)))
      script.timeout = max(.zero, timeout - elapsed)
    }
    var held: (@Sendable (Int64) -> Void)?
    if let state {
      held = { length in state.note { $0.traceHeld = length } }
    }
    let uploader = TraceUploader(
      client: client, jobID: job.id, jobToken: job.token, trace: trace, control: control,
      interval: settings.traceInterval, backoff: settings.backoff, held: held)
    let reporter = JobReporter(
      client: client, jobID: job.id, jobToken: job.token, control: control,
      keepAliveInterval: settings.keepAliveInterval, backoff: settings.backoff,
      finalUpdatePatience: settings.finalUpdatePatience)
    let context = RunnerJobContext(
      trace: trace, variables: JobVariables(job.variables),
      workingDirectory: folder.appendingPathComponent("work", isDirectory: true), control: control,
      dependencies: DependencyFiles(
        client: client, dependencies: job.dependencies,
        directory: folder.appendingPathComponent("dependencies", isDirectory: true), log: trace),
      lava: lava, masker: masker, state: state,
      // From the job's original start when it is resumed (the script's timeout is what is left).
      deadline: job.runnerInfo.timeout == nil ? nil : script.timeout.map { started + $0 })
    try? FileManager.default.createDirectory(at: context.workingDirectory, withIntermediateDirectories: true)
    for (name, path) in record?.offers ?? [:] {
      try? context.offers.offer(named: name, file: JobRecord.offeredFile(path, folder: folder))
    }
    logger.info(
      resuming == nil ? "job started" : "job resumed", metadata: ["job.name": "\(job.jobInfo.name)"])
    return JobSetup(
      trace: trace, script: script, started: started, uploader: uploader, reporter: reporter,
      context: context, progress: progress)
  }

  /// The job log's first line: the runner, or the restart notice of a resumed job.
  @inline(never)
  func announce(_ setup: JobSetup, state: JobState?, resuming: Resumption?) async {
    let trace = setup.trace
    if let record = resuming?.record {
      if !trace.endsWithNewline { await trace.write("\n") }
      await trace.line(
        "lava-runner restarted; it was away for \(Self.away(since: record.aliveAt)); "
          + (resuming?.gone == true ? "the job is no longer running in GitLab: cleaning up" : "resuming"),
        color: .cyan)
      state?.resumedAfterNotice()
    } else {
      await trace.line(
        "Running with lava-runner \(RunnerVersion.current) on \(client.identity.name) (\(client.identity.systemID))",
        color: .cyan)
    }
  }

  /// How the job's artifacts reach GitLab.
  @inline(never)
  func artifacts(_ setup: JobSetup, job: JobPayload, folder: URL, control: JobControl)
    -> GitLabArtifactDelivery
  {
    var uploader = ArtifactUploader(
      client: client, job: job, log: setup.trace, folder: folder, backoff: settings.backoff)
    uploader.progress = setup.progress
    return GitLabArtifactDelivery(offers: setup.context.offers, uploader: uploader, control: control)
  }

  /// Ends the job's log and waits (within the final update's patience) for GitLab to hold it.
  @inline(never)
  func drain(_ trace: JobTrace, logger: Logger) async {
    trace.finish()
    if await !trace.waitUntilDrained(timeout: settings.finalUpdatePatience) {
      logger.warning(
        "GitLab did not take the whole job log in time", metadata: ["bytes": "\(trace.length)"])
      trace.abandon()
    }
  }
}
