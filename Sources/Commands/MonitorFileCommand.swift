import ArgumentParser
import Foundation
import Protocols

/// `monitor-file FILE`: waits for LAVA jobs submitted elsewhere, listed in a JSON file found in
/// the dependencies' artifacts.
public struct MonitorFileCommand: Command {
  public static let metadata = CommandMetadata(
    name: "monitor-file",
    aliases: ["monitor-files"],
    summary: "Wait for the LAVA jobs listed in a JSON file and report how they ended.",
    discussion: """
      FILE is looked up in the artifacts of the job's dependencies and holds \
      {"jobids": [1, 2, 3]} (positive, distinct integers). Each job's URL and state changes \
      (queued, running on a device, finished with a health) are written to the job log, not \
      the LAVA logs. When all have finished, each job's raw log is saved as <id>_log.yaml and \
      its results as <id>_junit.xml, both offered to the job's artifacts. A running job whose log \
      stays quiet for LAVA_HANG_TIMEOUT, or a job queued for LAVA_QUEUE_TIMEOUT, is canceled in \
      LAVA and fails the job (monitor-file never submits again). The job succeeds only \
      if every LAVA job finishes Complete without a failed test; LAVA infrastructure errors end \
      it as a runner system failure, failed tests as a script failure. When a LAVA job fails, an \
      open section at the end says why: health, LAVA's error type and message, the failure \
      comment, the action it failed in, the failed test cases and the device's last 30 lines. \
      lava-report.json (one attempt per listed job; docs/lava-report.md) and lava.env (for \
      `reports: dotenv`, naming the first listed job) are offered to the artifacts too.
      """,
    variables: [
      .lavaURL, .lavaToken(of: "a user who may see the jobs"), .lavaCancellation(default: .ignore),
      .lavaIgnoreTestFailures, .lavaOutageTimeout, .lavaHangTimeout, .lavaQueueTimeout,
    ],
    examples: [
      CommandExample(
        "monitor-file jobs.json", "Wait for the LAVA jobs listed in jobs.json.",
        files: ["jobs.json": #"{"jobids": [1234, 1235]}"#]),
      CommandExample(
        "monitor-files jobs.json", "The same, by the alias older pipelines use.",
        files: ["jobs.json": #"{"jobids": [1234]}"#]),
    ],
    resumable: true
  )

  @Argument(help: "Path of the JSON file ({\"jobids\": [...]}) inside the dependencies' artifacts.")
  public var file: String

  /// Poll intervals and retries; tests make them short.
  public var polling = LAVAPolling.standard

  enum CodingKeys: String, CodingKey {
    case file
  }

  public init() {}

  public init(file: String, polling: LAVAPolling = .standard) {
    self.file = file
    self.polling = polling
  }

  public func run(in context: any JobContext) async throws {
    let session = try await LAVACommandSession.open(
      Self.self, context: context, polling: polling, defaultCancellation: .ignore)
    let log = context.log
    // After a runner restart: go on from the last phase saved (MonitorFileCommand+Resume.swift).
    let saved = try await context.restoredCheckpoint(MonitorCheckpoint.self, command: "monitor-file")
    let ids = try LAVAJobIDsFile.parse(
      try await session.dependency(
        file, limit: LAVAJobIDsFile.maximumBytes, tooLarge: LAVAJobIDsFile.limitText, quietly: saved != nil),
      name: file)
    let server = session.server
    var progress = saved ?? MonitorCheckpoint(phase: .waiting, began: Date())
    var watch = LAVAMonitorWatch(
      ids, settings: session.settings.attempts, began: LAVAWatchdog.instant(of: progress.began))
    watch.resume(progress.liveness)
    defer { watch.close() }
    let jobs: [Int64: LAVAJob]
    if progress.phase == .saving {
      jobs = try progress.jobs()
    } else {
      let started = saved != nil
      let section = ResumableSection("lava_monitor_\(ids[0])", header: "Waiting for LAVA jobs from \(file)")
      jobs = try await session.cancellingLAVAJobs(ids) {
        try await section.run(log, started: started) {
          if !started {
            for id in ids { await log.info("LAVA job \(id): \(server.webURL(of: id).absoluteString)") }
            try await progress.save(in: context)
          }
          if let watcher = session.watcher {
            return try await waitUntilFinished(
              ids, watcher: watcher, session: session, watch: &watch, last: try progress.jobs()
            ) { last, liveness in
              progress.last = last.mapValues(LAVAJobRecord.init)
              progress.liveness = liveness
              try await progress.save(in: context)
            }
          }
          return try await waitUntilFinished(
            ids, session: session, watch: &watch, last: try progress.jobs()
          ) { last, liveness in
            progress.last = last.mapValues(LAVAJobRecord.init)
            progress.liveness = liveness
            try await progress.save(in: context)
          }
        }
      }
    }
    let resumedSaving = saved?.phase == .saving
    let results = ResumableSection("lava_results", header: "Saving LAVA logs and results", collapsed: true)
    let reports = try await results.run(log, started: resumedSaving) {
      if !resumedSaving {
        progress.phase = .saving
        progress.last = jobs.mapValues(LAVAJobRecord.init)
        try await progress.save(in: context)
      }
      var reports: [LAVAJobReport] = []
      for id in ids {
        guard let job = jobs[id] else { continue }
        let error: LAVAJobError
        let file = context.workingDirectory.appendingPathComponent(LAVAArtifactNames.log(id))
        if let done = progress.saved[id], FileManager.default.fileExists(atPath: file.path) {
          try await context.offerArtifact(named: LAVAArtifactNames.log(id), file: file)
          error = done
        } else {
          error = try await saveLog(of: id, session, from: watch.logs[id])
          progress.saved[id] = error.bounded()
          try await progress.save(in: context)
        }
        reports.append(await session.report(id, job: job, error: error, stop: watch.stops[id]))
      }
      return reports
    }
    try await session.offeringReports(
      file: file, attempts: reports.map { [$0] }, retries: [], dotenv: reports
    ) {
      try await session.conclude(reports, ids: ids)
    }
  }

  /// Polls every job in one request a round and reports each change, until all have finished
  /// or been stopped by a watchdog.
  private func waitUntilFinished(
    _ ids: [Int64], session: LAVACommandSession, watch: inout LAVAMonitorWatch,
    last restored: [Int64: LAVAJob] = [:],
    changed saveChanges: ([Int64: LAVAJob], LAVAMonitorWatch.Liveness) async throws -> Void
  ) async throws -> [Int64: LAVAJob] {
    let (server, log, retrier) = (session.server, session.context.log, session.retrier)
    var last = restored
    var pause = polling.active
    while true {
      try Task.checkCancellation()
      let jobs = try await retrier.run("the state of the LAVA jobs") { try await server.jobs(ids) }
      var current: [Int64: LAVAJob] = [:]
      for job in jobs { current[job.id] = job }
      let missing = ids.filter { current[$0] == nil }
      guard missing.isEmpty else {
        throw CommandFailure(
          .scriptFailure,
          "monitor-file: LAVA has no job " + missing.map(String.init).joined(separator: ", ")
            + " visible to this token; check \(file) and LAVA_URL")
      }
      var changed = false
      for id in ids {
        if let job = current[id], let change = LAVAStateChange.describe(job, after: last[id]) {
          await log.line(change, color: .cyan)
          changed = true
        }
      }
      last = current
      let lively = try await watch.check(jobs, session: session)
      if changed || lively { try await saveChanges(last, watch.liveness) }
      if ids.allSatisfy({ watch.isDone(current[$0]) }) { return current }
      pause = changed ? polling.active : polling.quieter(than: pause)
      try await Task.sleep(for: pause)
    }
  }

  /// The whole raw log into `<id>_log.yaml`, page by page from line 0 (or where the probes
  /// stopped), and the job's error from its results lines.
  /// `part`: what the hang watchdog's probes read already.
  private func saveLog(
    of id: Int64, _ session: LAVACommandSession, from part: LAVAMonitorWatch.PartLog?
  ) async throws -> LAVAJobError {
    let (server, context, retrier) = (session.server, session.context, session.retrier)
    let file =
      try part?.file ?? LAVALogFile(jobID: id, in: context.workingDirectory, masker: context.makeMasker())
    defer { file.close() }
    var error = part?.error ?? LAVAJobError()
    var consumed = part?.consumed ?? 0
    while true {
      // Page by page, each saved before the next is asked for, counted as it is.
      var saved = 0
      try await retrier.run("the log of LAVA job \(id) from line \(consumed)") {
        try await server.logPages(of: id, from: consumed) { lines in
          try file.append(lines)
          for line in lines { error.note(line) }
          consumed += lines.count
          saved += lines.count
        }
      }
      if saved == 0 { break }
    }
    try await context.offerArtifact(named: LAVAArtifactNames.log(id), file: file.url)
    await context.log.line("LAVA job \(id): \(consumed) log lines saved as \(LAVAArtifactNames.log(id))")
    return error
  }
}
