import Foundation
import TestSupport
import Testing

@testable import HTTP
@testable import LAVA
@testable import RunnerCore

/// Issue 12, "20 jobs in flight across a SIGKILL and restart all finish correctly": one
/// `lava-runner` process (concurrency 24, a state directory) holds 20 GitLab jobs of the strict
/// fake GitLab, each following its own LAVA job on the real LAVA test server, played on the
/// fleet worker (24 devices, so that all 20 can run at once). When it is SIGKILLed, some LAVA jobs
/// are still queued, some are running with a batch of log lines just written, and some finish
/// while no runner runs. A second runner on the same state directory finishes all 20.
@Suite(.serialized, .enabled(if: LAVATestServer.isConfigured))
struct TwentyJobsResumeProcessTests {
  let server: LAVATestServer
  static let runnerToken = "glrt-twenty-resume-runner-token-1"

  /// Where a job's LAVA job is when the first runner dies.
  enum Stage: Equatable {
    /// Not started by the worker until the second runner runs.
    case queued
    /// Running, with a batch of lines sent just before the kill; ends under the second runner.
    case running
    /// Running before the kill, finished while no runner runs.
    case finishedWhileDown
  }

  /// How the LAVA job ends, and so the GitLab job.
  enum Ending: Equatable {
    case pass
    /// Complete with a failed test case: the GitLab job fails (script_failure).
    case failedTest
    /// Incomplete with a job error: the GitLab job fails (script_failure).
    case incomplete
  }

  struct Plan: Sendable {
    var index: Int
    /// `monitor-file` on a LAVA job the test submits, instead of `submit`.
    var monitor: Bool
    var stage: Stage
    var ending: Ending
  }

  /// 16 `submit` jobs (0-15) and 4 `monitor-file` jobs (16-19), at every stage, with failures.
  static let plans: [Plan] = (0..<20).map { index in
    let stage: Stage =
      switch index {
      case 0...2, 16: .queued
      case 3...9, 17: .running
      default: .finishedWhileDown
      }
    let ending: Ending =
      switch index {
      case 2, 5, 11, 18: .failedTest
      case 13: .incomplete
      default: .pass
      }
    return Plan(index: index, monitor: index >= 16, stage: stage, ending: ending)
  }

  init() throws {
    server = try LAVATestServer.fromEnvironment()
  }

  static func name(_ plan: Plan, tag: String) -> String {
    "twenty-\(tag)-" + (plan.index < 10 ? "0" : "") + "\(plan.index)"
  }

  /// The log lines the worker plays for `plan`: before the kill, around it, and after it.
  static func markers(_ plan: Plan, tag: String) -> (before: [String], during: [String], after: [String]) {
    let all = (0..<24).map { "twenty-line \(tag) \(plan.index) \($0)" }
    return (Array(all[0..<8]), Array(all[8..<16]), Array(all[16..<24]))
  }

  func job(_ plan: Plan, tag: String, deviceType: String, monitored: Int64?) -> FakeJob {
    let name = Self.name(plan, tag: tag)
    let files: [String: String]
    let script: String
    if let monitored {
      files = ["jobs.json": #"{"jobids": [\#(monitored)]}"#]
      script = "monitor-file jobs.json"
    } else {
      files = ["lava-job.yaml": LAVATestServer.playedJobDefinition(name: name, deviceType: deviceType)]
      script = "submit lava-job.yaml"
    }
    return FakeJob(name: name, script: [script])
      .variable(.init("LAVA_URL", server.url.absoluteString))
      .variable(.init("LAVA_TOKEN", server.token, masked: true))
      .dependency(.init(id: 5000 + Int64(plan.index), name: "prepare-\(plan.index)", archive: .files(files)))
      .artifact(.init(paths: ["*_log.yaml"], when: "always"))
      .artifact(.junit(paths: ["*_junit.xml"]))
  }

  func startRunner(_ gitlab: FakeGitLab, state: URL) async throws -> (Process, output: URL) {
    try BuiltRunner.start(
      ["run", "--check-interval", "0.2", "--concurrent", "24"],
      environment: [
        "GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": Self.runnerToken,
        "RUNNER_NAME": "twenty-e2e", "RUNNER_STATE_DIR": state.path,
      ])
  }

  /// Waits until `text` is in the job's trace.
  func waitForTrace(_ text: String, of job: EnqueuedJob, in gitlab: FakeGitLab) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    while await !gitlab.traceText(of: job.id).contains(text) {
      guard ContinuousClock.now < deadline else {
        throw PlayedWorkerError.timedOut(
          "GitLab job \(job.id) never showed \(text): \(await gitlab.traceText(of: job.id).suffix(1500))")
      }
      try await Task.sleep(for: .milliseconds(50))
    }
  }

  /// The LAVA job id the runner printed in the GitLab job's log.
  func lavaJobID(of job: EnqueuedJob, in gitlab: FakeGitLab) async throws -> Int64 {
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
      let trace = await gitlab.traceText(of: job.id)
      if let range = trace.range(of: #"/scheduler/job/(\d+)"#, options: .regularExpression),
        let id = Int64(trace[range].split(separator: "/").last!)
      {
        return id
      }
      try await Task.sleep(for: .milliseconds(50))
    }
    throw PlayedWorkerError.timedOut("GitLab job \(job.id) never showed its LAVA job")
  }

  /// Pings until LAVA has scheduled every job of `ids` on the worker (which then knows their tokens).
  static func waitUntilScheduled(_ ids: [Int64], on worker: PlayedWorker) async throws {
    let deadline = ContinuousClock.now + .seconds(30)
    var missing = Set(ids)
    while !missing.isEmpty {
      guard ContinuousClock.now < deadline else {
        throw PlayedWorkerError.timedOut(
          "LAVA jobs \(missing.sorted()) were never scheduled on the fleet worker")
      }
      missing.subtract(try await worker.ping().start.map(\.id))
      if !missing.isEmpty { try await Task.sleep(for: .milliseconds(300)) }
    }
  }

  static func lines(_ markers: [String]) -> [String] { markers.map { PlayedWorker.logLine($0) } }

  /// Ends `plan`'s LAVA job as planned, after its last lines and its test result.
  static func finish(_ plan: Plan, _ id: Int64, lines: [String], on worker: PlayedWorker) async throws {
    let result = plan.ending == .failedTest ? "fail" : "pass"
    try await worker.sendLog(
      id, lines + [PlayedWorker.resultLine(suite: "smoke", case: "boot", result: result)])
    if plan.ending == .incomplete {
      try await worker.finish(
        id, result: .fail, errorType: "Job", errors: "the played board refused the image")
    } else {
      try await worker.finish(id, result: .pass)
    }
  }

  @Test func twentyJobsInFlightAcrossASIGKILLAllFinishUnderTheNextRunnerEachWithItsStateLogAndArtifacts()
    async throws
  {
    let started = ContinuousClock.now
    let (worker, deviceType) = try server.fleet()
    let http = try HTTPClient()
    defer { http.requestShutdown() }
    let lava = try LAVAConnections(http: http, metrics: RunnerMetrics()).client(
      url: server.url, token: server.token)
    let state = FileManager.default.temporaryDirectory.appendingPathComponent(
      "twenty-state-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: state) }
    let tag = String(UUID().uuidString.prefix(8)).lowercased()
    let plans = Self.plans
    try await worker.whileOnline(interval: .seconds(1)) {
      try await freePlayedDevices(worker: worker, http: http, deviceType: deviceType)
      // The LAVA jobs that monitor-file follows are submitted elsewhere: here.
      var monitored: [Int: Int64] = [:]
      for plan in plans where plan.monitor {
        let definition = LAVATestServer.playedJobDefinition(
          name: Self.name(plan, tag: tag), deviceType: deviceType)
        let submitted = try await lava.submit(definition: definition)
        let id = try #require(submitted.first)
        monitored[plan.index] = id
      }
      try await FakeGitLab.withRunning(
        configuration: .init(longPollTimeout: .milliseconds(500), traceUpdateInterval: 1)
      ) { gitlab in
        await gitlab.addRunnerToken(Self.runnerToken)
        var jobs: [EnqueuedJob] = []
        for plan in plans {
          jobs.append(
            await gitlab.enqueue(
              job(plan, tag: tag, deviceType: deviceType, monitored: monitored[plan.index])))
        }
        let (first, firstOutput) = try await startRunner(gitlab, state: state)
        defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }

        // Every job has its LAVA job (submitted by the runner, or listed in jobs.json).
        var ids = monitored
        for plan in plans {
          if plan.monitor {
            try await waitForTrace("LAVA job \(monitored[plan.index]!): ", of: jobs[plan.index], in: gitlab)
          } else {
            ids[plan.index] = try await lavaJobID(of: jobs[plan.index], in: gitlab)
          }
        }
        let going = plans.filter { $0.stage != .queued }
        try await Self.waitUntilScheduled(going.map { ids[$0.index]! }, on: worker)
        for plan in going {
          try await worker.run(ids[plan.index]!)
          try await worker.sendLog(ids[plan.index]!, Self.lines(Self.markers(plan, tag: tag).before))
        }
        for plan in going {
          let id = ids[plan.index]!
          let shown =
            plan.monitor ? "LAVA job \(id) is running" : Self.markers(plan, tag: tag).before.last! + "\n"
          try await waitForTrace(shown, of: jobs[plan.index], in: gitlab)
        }
        let records = try FileManager.default.contentsOfDirectory(
          atPath: state.appendingPathComponent("jobs").path)
        #expect(records.count == 20, "the first runner holds \(records.count) jobs: \(records)")

        // Mid-log: the runner is reading these batches when it dies.
        for plan in plans where plan.stage == .running {
          try await worker.sendLog(ids[plan.index]!, Self.lines(Self.markers(plan, tag: tag).during))
        }
        // Soon after: the runner is writing some of these batches (or saving the checkpoints that
        // count them) when the kill comes.
        try await Task.sleep(for: .milliseconds(150))
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        await gitlab.runnerProcessDied()

        // LAVA goes on while no runner watches.
        for plan in plans where plan.stage == .finishedWhileDown {
          let markers = Self.markers(plan, tag: tag)
          try await Self.finish(
            plan, ids[plan.index]!, lines: Self.lines(markers.during + markers.after), on: worker)
        }

        let (second, secondOutput) = try await startRunner(gitlab, state: state)
        defer { if second.isRunning { kill(second.processIdentifier, SIGKILL) } }
        for plan in plans where plan.stage == .running {
          try await Self.finish(
            plan, ids[plan.index]!, lines: Self.lines(Self.markers(plan, tag: tag).after), on: worker)
        }
        let queued = plans.filter { $0.stage == .queued }
        try await Self.waitUntilScheduled(queued.map { ids[$0.index]! }, on: worker)
        for plan in queued {
          let markers = Self.markers(plan, tag: tag)
          try await worker.run(ids[plan.index]!)
          try await worker.sendLog(ids[plan.index]!, Self.lines(markers.before))
          try await Self.finish(
            plan, ids[plan.index]!, lines: Self.lines(markers.during + markers.after), on: worker)
        }

        for plan in plans {
          let job = jobs[plan.index]
          let id = ids[plan.index]!
          let what =
            "job \(plan.index) (\(plan.monitor ? "monitor-file" : "submit"), \(plan.stage), \(plan.ending))"
          let result = try await gitlab.result(of: job.id, timeout: .seconds(60))
          let raw = await gitlab.traceText(of: job.id)
          let trace = LAVAResumeProcessTests.plain(raw)
          if plan.ending == .pass {
            #expect(result.status == .success, "\(what): \(trace.suffix(3000))")
          } else {
            #expect(result.status == .failed, "\(what): \(trace.suffix(3000))")
            #expect(result.failureReason == "script_failure", "\(what): \(trace.suffix(3000))")
          }
          #expect(
            trace.components(separatedBy: "lava-runner restarted; it was away for").count == 2,
            "\(what): \(trace.suffix(3000))")
          // The resumed command does not say again what the first runner said.
          let file = plan.monitor ? "jobs.json" : "lava-job.yaml"
          #expect(
            trace.components(separatedBy: "Found \(file) in the artifacts of").count == 2,
            "\(what): \(trace.suffix(3000))")
          #expect(GitLabSections.problems(in: raw).isEmpty, "\(what): \(GitLabSections.problems(in: raw))")
          #expect(!trace.contains(server.token) && !trace.contains(job.token), "\(what) shows a token")
          let markers = Self.markers(plan, tag: tag)
          let all = markers.before + markers.during + markers.after
          if !plan.monitor {
            // A failed job's "why" section repeats its last device lines.
            let log = trace.range(of: "lava_why_").map { String(trace[..<$0.lowerBound]) } ?? trace
            let problems = LAVAResumeProcessTests.onceInOrder(all, in: log)
            #expect(problems.isEmpty, "\(what): \(problems.prefix(10)) in \(trace.suffix(4000))")
            // Exactly one LAVA job carries this GitLab job's unique name and marker.
            let described = try await lava.jobs(describedWith: Self.name(plan, tag: tag))
            #expect(described.map(\.id) == [id], "\(what): LAVA jobs \(described.map(\.id))")
          }
          let uploads = await gitlab.uploads(of: job.id)
          let archive = try #require(
            uploads.first { $0.artifactType == "archive" }, "\(what): \(trace.suffix(2000))")
          let entries = try archive.zipEntries()
          let log = String(
            decoding: try #require(entries["\(id)_log.yaml"], "\(what): \(entries.keys)"), as: UTF8.self)
          let inLog = LAVAResumeProcessTests.onceInOrder(all, in: log, end: "\"")
          #expect(inLog.isEmpty, "\(what): \(inLog.prefix(10)) in the uploaded \(id)_log.yaml")
          let junit = try #require(uploads.first { $0.artifactType == "junit" }, "\(what)")
          #expect(String(decoding: try junit.gunzipped(), as: UTF8.self).contains("boot"), "\(what)")
        }
        // Each record goes once its job is reported (just after GitLab has the final update).
        let deadline = ContinuousClock.now + .seconds(10)
        var left = try FileManager.default.contentsOfDirectory(
          atPath: state.appendingPathComponent("jobs").path)
        while !left.isEmpty, ContinuousClock.now < deadline {
          try await Task.sleep(for: .milliseconds(50))
          left = try FileManager.default.contentsOfDirectory(
            atPath: state.appendingPathComponent("jobs").path)
        }
        #expect(left.isEmpty, "records left in the state directory: \(left)")
        if second.isRunning {
          second.terminate()
          second.waitUntilExit()
        }
        let tokens = [server.token, Self.runnerToken, server.fleetWorkerToken ?? ""] + jobs.map(\.token)
        for output in [firstOutput, secondOutput] {
          let log = try String(contentsOf: output, encoding: .utf8)
          for token in tokens where !token.isEmpty {
            #expect(!log.contains(token), "the runner's own log \(output.lastPathComponent) shows a token")
          }
        }
        #expect(await gitlab.violations == [])
      }
    }
    print("twenty jobs across a SIGKILL: \(ContinuousClock.now - started)")
  }
}
