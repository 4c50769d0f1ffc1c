import Foundation
import GitLabAPI
import HTTP
import Logging
import Protocols
import RunnerCore

/// Runs one job GitLab handed the runner, from its first log line to its final state.
package struct JobRunner: Sendable {
  package struct Settings: Sendable {
    /// Where each job gets a folder of its own (removed when the job ends).
    package var workRoot: URL = FileManager.default.temporaryDirectory
    package var traceInterval: Duration = .seconds(3)
    package var keepAliveInterval: Duration = .seconds(30)
    package var finalUpdatePatience: Duration = .seconds(600)
    package var backoff = RetryPolicy(initial: .seconds(1), maximum: .seconds(30))
    /// Where the runner keeps a record of every job it holds (`--state-dir`), so that a runner
    /// restarted after its own death resumes them; `nil`: nothing is kept.
    package var stateDirectory: StateDirectory?

    package init(
      workRoot: URL = FileManager.default.temporaryDirectory, traceInterval: Duration = .seconds(3),
      keepAliveInterval: Duration = .seconds(30), finalUpdatePatience: Duration = .seconds(600)
    ) {
      self.workRoot = workRoot
      self.traceInterval = traceInterval
      self.keepAliveInterval = keepAliveInterval
      self.finalUpdatePatience = finalUpdatePatience
    }
  }

  package let client: GitLabClient
  package let executor: JobExecutor
  package let settings: Settings
  package let lava: any LAVAConnector
  package let logger: Logger

  /// Runs `job` to the end. `control` lets the owner stop it (shutdown).
  package func run(_ job: JobPayload, control: JobControl = JobControl()) async {
    var logger = logger
    logger[metadataKey: "gitlab.job.id"] = "\(job.id)"
    if let stateDirectory = settings.stateDirectory {
      do {
        let folder = try stateDirectory.newJobFolder(job.id)
        let state = try JobState(newJob: job, folder: folder, logger: logger)
        await run(job, folder: folder, state: state, resuming: nil, control: control, logger: logger)
        return
      } catch {
        logger.warning(
          "cannot record the job in the state directory; it runs without a record and cannot resume if the runner dies",
          metadata: ["error": "\(error)"])
        try? FileManager.default.removeItem(at: stateDirectory.jobsURL.appendingPathComponent(String(job.id)))
      }
    }
    let folder = settings.workRoot.appendingPathComponent(
      "lava-runner-job-\(job.id)-\(UUID().uuidString.prefix(8))")
    await run(job, folder: folder, state: nil, resuming: nil, control: control, logger: logger)
  }

  /// Runs `job` in `folder` (removed at the end, with the job's record); a job a previous runner
  /// held (`resuming`) goes on from its record: its trace after what GitLab holds, its script
  /// from the recorded line, its timeout from its original start.
  func run(
    _ job: JobPayload, folder: URL, state: JobState?, resuming: Resumption?, control: JobControl,
    logger: Logger
  ) async {
    defer {
      if let state { state.remove() } else { try? FileManager.default.removeItem(at: folder) }
    }
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
      await reportWithoutTrace(job, control: control, logger: logger)
      return
    }
    defer { trace.close() }

    if let record { trace.gitLabHolds(record.traceHeld) }
    state?.attach(trace)
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
      try? context.offers.offer(named: name, file: URL(fileURLWithPath: path))
    }

    logger.info(
      resuming == nil ? "job started" : "job resumed", metadata: ["job.name": "\(job.jobInfo.name)"])
    let outcome: JobOutcome = await withTaskGroup(of: Void.self) { group in
      group.addTask { await uploader.run() }
      group.addTask { await reporter.keepAlive() }
      if let state { group.addTask { await heartbeat(state) } }
      defer { group.cancelAll() }
      if let record {
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
      let artifacts = GitLabArtifactDelivery(
        offers: context.offers,
        uploader: ArtifactUploader(
          client: client, job: job, log: trace, folder: folder, backoff: settings.backoff),
        control: control)
      let outcome = await executor.execute(
        script, context: context, control: control, artifacts: artifacts, progress: state)
      trace.finish()
      if await !trace.waitUntilDrained(timeout: settings.finalUpdatePatience) {
        logger.warning(
          "GitLab did not take the whole job log in time", metadata: ["bytes": "\(trace.length)"])
        trace.abandon()
      }
      return outcome
    }

    client.metrics.jobFinished(outcome, duration: ContinuousClock.now - started)
    let (checksum, size) = trace.finish()
    let result = await reporter.reportFinal(outcome, checksum: checksum, size: size) {
      trace.resendFromStart()
      await withTaskGroup(of: Void.self) { group in
        group.addTask { await uploader.run() }
        if await !trace.waitUntilDrained(timeout: settings.finalUpdatePatience) { trace.abandon() }
        group.cancelAll()
      }
    }
    switch result {
    case .accepted:
      logger.info(
        "job finished",
        metadata: [
          "state": "\(outcome.state.rawValue)", "failure_reason": "\(outcome.failureReason?.rawValue ?? "")",
        ])
    case .jobGone(let status):
      logger.info("job ended in GitLab before its final update", metadata: ["status": "\(status)"])
    case .gaveUp(let problem):
      logger.error(
        "GitLab did not take the job's final state", metadata: ["problem": "\(client.mask(problem))"])
    }
  }

  /// Tells the job's record every keep-alive interval that the runner is alive (the restart
  /// notice says how long it was away).
  private func heartbeat(_ state: JobState) async {
    while (try? await Task.sleep(for: settings.keepAliveInterval)) != nil {
      state.note { _ in }
    }
  }

  /// "2m 13s".
  static func away(since: Date, now: Date = Date()) -> String {
    let seconds = max(0, Int(now.timeIntervalSince(since).rounded()))
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60)
    if h > 0 { return "\(h)h \(m)m \(s)s" }
    if m > 0 { return "\(m)m \(s)s" }
    return "\(s)s"
  }

  private func reportWithoutTrace(_ job: JobPayload, control: JobControl, logger: Logger) async {
    let reporter = JobReporter(client: client, jobID: job.id, jobToken: job.token, control: control)
    _ = await reporter.reportFinal(
      .failed(.runnerSystemFailure), checksum: TraceChecksum().formatted, size: 0
    ) {}
  }

  package init(
    client: GitLabClient, executor: JobExecutor, settings: Settings, lava: any LAVAConnector, logger: Logger
  ) {
    self.client = client
    self.executor = executor
    self.settings = settings
    self.lava = lava
    self.logger = logger
  }
}
