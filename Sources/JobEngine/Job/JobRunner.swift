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
    let (folder, state) = place(job, logger: logger)
    await run(job, folder: folder, state: state, resuming: nil, control: control, logger: logger)
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
    guard
      let setup = setUp(
        job, folder: folder, state: state, resuming: resuming, control: control, logger: logger)
    else {
      await reportWithoutTrace(job, control: control, logger: logger)
      return
    }
    defer { setup.trace.close() }

    let outcome: JobOutcome = await withTaskGroup(of: Void.self) { group in
      group.addTask { await setup.uploader.run() }
      // The keep-alive also tells the job's record that the runner lives (the restart notice
      // says how long it was away): one task, not two, per job (issue 10).
      let noteAlive: (@Sendable () -> Void)?
      if let state { noteAlive = { state.note { _ in } } } else { noteAlive = nil }
      group.addTask { await setup.reporter.keepAlive(onEachInterval: noteAlive) }
      defer { group.cancelAll() }
      await announce(setup, state: state, resuming: resuming)
      let outcome = await executor.execute(
        setup.script, context: setup.context, control: control,
        artifacts: artifacts(setup, job: job, folder: folder, control: control), progress: setup.progress)
      await drain(setup.trace, logger: logger)
      return outcome
    }

    client.metrics.jobFinished(outcome, duration: ContinuousClock.now - setup.started)
    await sendFinalState(
      outcome, trace: setup.trace, uploader: setup.uploader, reporter: setup.reporter, logger: logger)
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
