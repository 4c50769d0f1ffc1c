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
    let folder = settings.workRoot.appendingPathComponent(
      "lava-runner-job-\(job.id)-\(UUID().uuidString.prefix(8))")
    defer { try? FileManager.default.removeItem(at: folder) }

    let masker = SecretMasker(
      secrets: job.variables.filter(\.masked).map(\.value) + [job.token, client.runnerToken]
        + job.dependencies.map(\.token),
      tokenPrefixes: job.features.tokenMaskPrefixes)
    let trace: JobTrace
    do {
      try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
      trace = try JobTrace(spoolURL: folder.appendingPathComponent("trace.log"), masker: masker)
    } catch {
      logger.error(
        "cannot create the job's folder", metadata: ["folder": "\(folder.path)", "error": "\(error)"])
      await reportWithoutTrace(job, control: control, logger: logger)
      return
    }
    defer { trace.close() }

    let uploader = TraceUploader(
      client: client, jobID: job.id, jobToken: job.token, trace: trace, control: control,
      interval: settings.traceInterval, backoff: settings.backoff)
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
      lava: lava, masker: masker,
      deadline: job.runnerInfo.timeout.map { ContinuousClock.now + .seconds(max(0, $0)) })
    try? FileManager.default.createDirectory(at: context.workingDirectory, withIntermediateDirectories: true)

    logger.info("job started", metadata: ["job.name": "\(job.jobInfo.name)"])
    let started = ContinuousClock.now
    let outcome: JobOutcome = await withTaskGroup(of: Void.self) { group in
      group.addTask { await uploader.run() }
      group.addTask { await reporter.keepAlive() }
      defer { group.cancelAll() }
      await trace.line(
        "Running with lava-runner \(RunnerVersion.current) on \(client.identity.name) (\(client.identity.systemID))",
        color: .cyan)
      let artifacts = GitLabArtifactDelivery(
        offers: context.offers,
        uploader: ArtifactUploader(
          client: client, job: job, log: trace, folder: folder, backoff: settings.backoff),
        control: control)
      let outcome = await executor.execute(job, context: context, control: control, artifacts: artifacts)
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
