import Foundation
import TestSupport
import Testing

@testable import HTTP
@testable import LAVA
@testable import RunnerCore

/// Issue 12 end to end: `lava-runner` processes on one state directory, the strict fake GitLab
/// and the real LAVA test server with a played worker; the first runner is SIGKILLed, a second
/// one finishes (or cleans up) what it held.
@Suite(.serialized, .enabled(if: LAVATestServer.isConfigured))
struct LAVAResumeProcessTests {
  let server: LAVATestServer
  static let runnerToken = "glrt-resume-e2e-runner-token-01"

  init() throws {
    server = try LAVATestServer.fromEnvironment()
  }

  func playedJob(_ name: String, lavaURL: URL? = nil) -> FakeJob {
    FakeJob(name: name, script: ["submit lava-job.yaml"])
      .variable(.init("LAVA_URL", (lavaURL ?? server.url).absoluteString))
      .variable(.init("LAVA_TOKEN", server.token, masked: true))
      .dependency(
        .init(
          id: 89, name: "prepare", archive: .files(["lava-job.yaml": server.playedJobDefinition(name: name)]))
      )
      .artifact(.init(paths: ["*_log.yaml"], when: "always"))
      .artifact(.junit(paths: ["*_junit.xml"]))
  }

  static func temporary(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
  }

  /// A runner process on `state`.
  func startRunner(_ gitlab: FakeGitLab, state: URL) async throws -> (Process, output: URL) {
    try BuiltRunner.start(
      ["run", "--check-interval", "0.2"],
      environment: [
        "GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": Self.runnerToken,
        "RUNNER_NAME": "resume-e2e", "RUNNER_STATE_DIR": state.path,
      ])
  }

  /// SIGKILLs `process` and tells the fake that its last trace patch may be resent once.
  func killHard(_ process: Process, _ gitlab: FakeGitLab) async {
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    await gitlab.runnerProcessDied()
  }

  func stop(_ process: Process, output: URL) throws {
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
    }
    let log = try String(contentsOf: output, encoding: .utf8)
    #expect(!log.contains(server.token), "the runner's own log shows LAVA_TOKEN")
    #expect(!log.contains(Self.runnerToken))
  }

  /// The LAVA job id the runner printed in the GitLab job's log.
  func lavaJobID(of job: EnqueuedJob, in gitlab: FakeGitLab) async throws -> Int64 {
    let deadline = ContinuousClock.now + .seconds(60)
    while ContinuousClock.now < deadline {
      let trace = await gitlab.traceText(of: job.id)
      if let range = trace.range(of: #"/scheduler/job/(\d+)"#, options: .regularExpression),
        let id = Int64(trace[range].split(separator: "/").last!)
      {
        return id
      }
      try await Task.sleep(for: .milliseconds(100))
    }
    throw PlayedWorkerError.timedOut("GitLab job \(job.id) never showed its LAVA job")
  }

  func waitForTrace(_ text: String, of job: EnqueuedJob, in gitlab: FakeGitLab) async throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while await !gitlab.traceText(of: job.id).contains(text) {
      guard ContinuousClock.now < deadline else {
        throw PlayedWorkerError.timedOut("GitLab job \(job.id) never showed \(text)")
      }
      try await Task.sleep(for: .milliseconds(50))
    }
  }

  static func markers(_ range: Range<Int>, _ tag: String) -> [String] {
    range.map { "resume-line \(tag) \($0)" }
  }

  /// What is wrong with `markers` (each followed by `end`) in `trace`: empty when each appears
  /// exactly once, in order.
  static func onceInOrder(_ markers: [String], in trace: String, end: String = "\n") -> [String] {
    var problems: [String] = []
    var last = trace.startIndex
    for marker in markers {
      let occurrences = trace.ranges(of: marker + end).count
      if occurrences != 1 {
        problems.append("\(marker): \(occurrences) times")
      } else if let range = trace.range(of: marker + end), range.lowerBound < last {
        problems.append("\(marker): out of order")
      } else if let range = trace.range(of: marker + end) {
        last = range.lowerBound
      }
    }
    return problems
  }

  static func plain(_ text: String) -> String {
    text.replacing(#/\x1B\[[0-9;]*[A-Za-z]/#, with: "")
  }

  @Test func aRunnerSIGKILLedMidLogIsReplacedByOneThatFinishesTheJobWithEveryLineOnceAndTheArtifacts()
    async throws
  {
    let worker = server.playedWorker()
    let http = try HTTPClient()
    defer { http.requestShutdown() }
    let state = Self.temporary("resume-state")
    defer { try? FileManager.default.removeItem(at: state) }
    let tag = String(UUID().uuidString.prefix(8))
    let before = Self.markers(0..<40, tag)
    let during = Self.markers(40..<80, tag)
    let after = Self.markers(80..<120, tag)
    try await worker.whileOnline(interval: .seconds(1)) {
      try await freePlayedDevices(worker: worker, http: http)
      try await FakeGitLab.withRunning(
        configuration: .init(longPollTimeout: .milliseconds(500), traceUpdateInterval: 1)
      ) { gitlab in
        await gitlab.addRunnerToken(Self.runnerToken)
        let job = await gitlab.enqueue(playedJob("resume-mid-log"))
        let (first, firstOutput) = try await startRunner(gitlab, state: state)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        let id = try await lavaJobID(of: job, in: gitlab)
        _ = try await worker.startNextJob(id)
        try await worker.run(id)
        try await worker.sendLog(id, before.map { PlayedWorker.logLine($0) })
        try await waitForTrace(before.last! + "\n", of: job, in: gitlab)
        // Mid-log: the runner is reading this batch when it dies.
        try await worker.sendLog(id, during.map { PlayedWorker.logLine($0) })
        try await Task.sleep(for: .milliseconds(900))
        await killHard(first, gitlab)
        try stop(first, output: firstOutput)

        // LAVA goes on while no runner watches.
        try await worker.sendLog(
          id,
          after.map { PlayedWorker.logLine($0) } + [
            PlayedWorker.resultLine(suite: "smoke", case: "boot", result: "pass")
          ])
        try await worker.finish(id, result: .pass)
        try await Task.sleep(for: .milliseconds(500))

        let (second, secondOutput) = try await startRunner(gitlab, state: state)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        let result = try await gitlab.result(of: job.id, timeout: .seconds(60))
        let raw = await gitlab.traceText(of: job.id)
        let trace = Self.plain(raw)
        #expect(result.status == .success, "\(trace.suffix(3000))")
        #expect(trace.components(separatedBy: "lava-runner restarted; it was away for").count == 2)
        let problems = Self.onceInOrder(before + during + after, in: trace)
        #expect(problems.isEmpty, "\(problems.prefix(10)) in \(trace.suffix(6000))")
        #expect(GitLabSections.problems(in: raw).isEmpty, "\(GitLabSections.problems(in: raw))")
        #expect(!trace.contains(server.token))

        let uploads = await gitlab.uploads(of: job.id)
        let archive = try #require(uploads.first { $0.artifactType == "archive" }, "\(trace.suffix(2000))")
        let entries = try archive.zipEntries()
        let log = String(decoding: try #require(entries["\(id)_log.yaml"], "\(entries.keys)"), as: UTF8.self)
        let inLog = Self.onceInOrder(before + during + after, in: log, end: "\"")
        #expect(inLog.isEmpty, "\(inLog.prefix(10)) in the uploaded \(id)_log.yaml")
        let junit = try #require(uploads.first { $0.artifactType == "junit" })
        #expect(String(decoding: try junit.gunzipped(), as: UTF8.self).contains("boot"))
        try stop(second, output: secondOutput)
        #expect(!FileManager.default.fileExists(atPath: state.appendingPathComponent("jobs/\(job.id)").path))
        let violations = await gitlab.violations
        #expect(violations == [], "\(violations)")
      }
    }
  }

  @Test func aJobCancelledInGitLabWhileNoRunnerRanHasItsLAVAJobCanceledByTheNextRunner() async throws {
    let worker = server.playedWorker()
    let http = try HTTPClient()
    defer { http.requestShutdown() }
    let state = Self.temporary("resume-state")
    defer { try? FileManager.default.removeItem(at: state) }
    try await worker.whileOnline(interval: .seconds(1)) {
      try await freePlayedDevices(worker: worker, http: http)
      try await FakeGitLab.withRunning(
        configuration: .init(longPollTimeout: .milliseconds(500), traceUpdateInterval: 1)
      ) { gitlab in
        await gitlab.addRunnerToken(Self.runnerToken)
        let job = await gitlab.enqueue(playedJob("resume-cancelled"))
        let (first, firstOutput) = try await startRunner(gitlab, state: state)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        let id = try await lavaJobID(of: job, in: gitlab)
        _ = try await worker.startNextJob(id)
        try await worker.run(id)
        try await worker.sendLog(id, [PlayedWorker.logLine("booting before the kill")])
        try await waitForTrace("booting before the kill", of: job, in: gitlab)
        await killHard(first, gitlab)
        try stop(first, output: firstOutput)
        await gitlab.cancel(jobID: job.id)
        await gitlab.forceCancel(jobID: job.id)

        let (second, secondOutput) = try await startRunner(gitlab, state: state)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        try await worker.waitForCancel(id, timeout: .seconds(30))
        try await worker.finish(id, result: .fail, errorType: "Canceled")
        let deadline = ContinuousClock.now + .seconds(30)
        while FileManager.default.fileExists(atPath: state.appendingPathComponent("jobs/\(job.id)").path) {
          guard ContinuousClock.now < deadline else { break }
          try await Task.sleep(for: .milliseconds(50))
        }
        #expect(!FileManager.default.fileExists(atPath: state.appendingPathComponent("jobs/\(job.id)").path))
        let lava = try LAVAConnections(http: http, metrics: RunnerMetrics()).server(
          url: server.url, token: server.token)
        let detail = try await lava.job(id)
        #expect(detail.health == .canceled, "LAVA job \(id) is \(detail.state)/\(detail.health)")
        #expect(await gitlab.status(of: job.id) == .canceled)
        try stop(second, output: secondOutput)
        let violations = await gitlab.violations
        #expect(violations == [], "\(violations)")
      }
    }
  }

  @Test func aRunnerSIGKILLedWhileLAVAsSubmissionReplyIsHeldLeavesExactlyOneLAVAJobWhichTheNextRunnerFollows()
    async throws
  {
    let worker = server.playedWorker()
    let http = try HTTPClient()
    defer { http.requestShutdown() }
    let state = Self.temporary("resume-state")
    defer { try? FileManager.default.removeItem(at: state) }
    // The first submission reaches LAVA, its reply is held: the runner dies not knowing the id.
    let proxy = try LAVAFaultProxy(
      upstreamPort: UInt16(server.url.port!),
      plan: .init(
        seed: 12, faults: [], submissionFaults: [], scriptedSubmissions: [1: .delayed], holdFor: .seconds(60))
    )
    defer { proxy.stop() }
    let lava = try LAVAConnections(http: http, metrics: RunnerMetrics()).client(
      url: server.url, token: server.token)
    try await worker.whileOnline(interval: .seconds(1)) {
      try await freePlayedDevices(worker: worker, http: http)
      try await FakeGitLab.withRunning(
        configuration: .init(longPollTimeout: .milliseconds(500), traceUpdateInterval: 1)
      ) { gitlab in
        await gitlab.addRunnerToken(Self.runnerToken)
        let name = "resume-submission-\(UUID().uuidString.prefix(8).lowercased())"
        let job = await gitlab.enqueue(playedJob(name, lavaURL: proxy.url))
        let (first, firstOutput) = try await startRunner(gitlab, state: state)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
        // LAVA has the job (it schedules it) while the runner still waits for the reply.
        let played = try await worker.startNextJob(timeout: .seconds(60))
        #expect(await !gitlab.traceText(of: job.id).contains("/scheduler/job/\(played.id)"))
        await killHard(first, gitlab)
        try stop(first, output: firstOutput)
        try await worker.run(played.id)
        try await worker.sendLog(
          played.id,
          [
            PlayedWorker.logLine("resume-line submitted once"),
            PlayedWorker.resultLine(suite: "smoke", case: "boot", result: "pass"),
          ])
        try await worker.finish(played.id, result: .pass)

        let (second, secondOutput) = try await startRunner(gitlab, state: state)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        let result = try await gitlab.result(of: job.id, timeout: .seconds(60))
        let trace = Self.plain(await gitlab.traceText(of: job.id))
        #expect(result.status == .success, "\(trace.suffix(3000))")
        #expect(trace.contains("/scheduler/job/\(played.id)"))
        #expect(Self.onceInOrder(["resume-line submitted once"], in: trace).isEmpty, "\(trace.suffix(3000))")
        // Exactly one LAVA job carries this GitLab job's (unique) name and marker: the one played.
        let described = try await lava.jobs(describedWith: name)
        #expect(described.map(\.id) == [played.id])
        #expect(described.first?.description.hasPrefix(name + " ") == true)
        try stop(second, output: secondOutput)
        let violations = await gitlab.violations
        #expect(violations == [], "\(violations)")
      }
    }
  }
}
