import Foundation
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// Signals sent to the `lava-runner` binary while it follows LAVA jobs that the test plays on
/// the real LAVA server, with the fake GitLab as the coordinator.
@Suite(.serialized, .enabled(if: LAVATestServer.isConfigured))
struct SignalEndToEndTests {
  let server: LAVATestServer
  static let runnerToken = "glrt-signal-e2e-runner-token-01"

  init() throws {
    server = try LAVATestServer.fromEnvironment()
  }

  func playedJob(_ name: String) -> FakeJob {
    FakeJob(name: name, script: ["submit lava-job.yaml"])
      .variable(.init("LAVA_URL", server.url.absoluteString))
      .variable(.init("LAVA_TOKEN", server.token, masked: true))
      .dependency(
        .init(
          id: 88, name: "prepare", archive: .files(["lava-job.yaml": server.playedJobDefinition(name: name)]))
      )
  }

  /// The LAVA job id the runner printed in the GitLab job's log.
  func lavaJobID(of job: EnqueuedJob, in gitlab: FakeGitLab) async throws -> Int64 {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(60)
    while clock.now < deadline {
      let trace = await gitlab.traceText(of: job.id)
      if let range = trace.range(of: #"/scheduler/job/(\d+)"#, options: .regularExpression),
        let id = Int64(trace[range].split(separator: "/").last!)
      {
        return id
      }
      try await Task.sleep(for: .milliseconds(200))
    }
    throw PlayedWorkerError.timedOut("GitLab job \(job.id) never showed its LAVA job")
  }

  func waitForExit(_ process: Process, within timeout: Duration) async throws -> Int32 {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while process.isRunning && clock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
      Issue.record("the runner did not exit within \(timeout)")
    }
    return process.terminationStatus
  }

  @Test func sigquitTakesNoMoreJobsAndLetsTheRunningLAVAJobsFinish() async throws {
    let worker = server.playedWorker()
    let http = try HTTPClient()
    defer { http.requestShutdown() }
    try await worker.whileOnline {
      try await freePlayedDevices(worker: worker, http: http)
      try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .milliseconds(500))) { gitlab in
        await gitlab.addRunnerToken(Self.runnerToken)
        let first = await gitlab.enqueue(playedJob("sigquit-one"))
        let second = await gitlab.enqueue(playedJob("sigquit-two"))
        let (process, _) = try BuiltRunner.start(
          ["run", "--check-interval", "0.2"],
          environment: ["GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": Self.runnerToken])
        let ids = [try await lavaJobID(of: first, in: gitlab), try await lavaJobID(of: second, in: gitlab)]
        for id in ids {
          _ = try await worker.startNextJob(id)
          try await worker.run(id)
          try await worker.sendLog(id, [PlayedWorker.logLine("booting \(id)")])
        }
        kill(process.processIdentifier, SIGQUIT)
        try await Task.sleep(for: .seconds(1))
        let late = await gitlab.enqueue(FakeJob(name: "late", script: ["submit lava-job.yaml"]))
        for id in ids {
          try await worker.sendLog(
            id, [PlayedWorker.resultLine(suite: "smoke", case: "boot", result: "pass")])
          try await worker.finish(id, result: .pass)
        }
        for job in [first, second] {
          let result = try await gitlab.result(of: job.id, timeout: .seconds(90))
          let trace = await gitlab.traceText(of: job.id)
          #expect(result.status == .success, "\(trace.suffix(2000))")
        }
        #expect(try await waitForExit(process, within: .seconds(60)) == 0)
        #expect(await gitlab.status(of: late.id) == .pending)
        #expect(await gitlab.violations == [])
      }
    }
  }

  @Test func sigtermEndsTheJobsAsRunnerInterruptedAndCancelsTheirLAVAJobs() async throws {
    let worker = server.playedWorker()
    let http = try HTTPClient()
    defer { http.requestShutdown() }
    try await worker.whileOnline {
      try await freePlayedDevices(worker: worker, http: http)
      try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .milliseconds(500))) { gitlab in
        await gitlab.addRunnerToken(Self.runnerToken)
        let jobs = [
          await gitlab.enqueue(playedJob("sigterm-one")), await gitlab.enqueue(playedJob("sigterm-two")),
        ]
        let (process, _) = try BuiltRunner.start(
          ["run", "--check-interval", "0.2", "--shutdown-timeout", "60"],
          environment: ["GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": Self.runnerToken])
        var ids: [Int64] = []
        for job in jobs { ids.append(try await lavaJobID(of: job, in: gitlab)) }
        for id in ids {
          _ = try await worker.startNextJob(id)
          try await worker.run(id)
        }
        process.terminate()
        for job in jobs {
          let result = try await gitlab.result(of: job.id, timeout: .seconds(60))
          let trace = await gitlab.traceText(of: job.id)
          #expect(result.status == .failed)
          #expect(result.failureReason == "runner_interrupted", "\(trace.suffix(2000))")
        }
        for id in ids {
          try await worker.waitForCancel(id, timeout: .seconds(30))
          try await worker.finish(id, result: .fail)
        }
        #expect(try await waitForExit(process, within: .seconds(60)) == 0)
        let client = try LAVAConnections(http: http, metrics: RunnerMetrics()).server(
          url: server.url, token: server.token)
        for id in ids {
          let detail = try await client.job(id)
          #expect(detail.health == .canceled, "LAVA job \(id) is \(detail.state)/\(detail.health)")
        }
        #expect(await gitlab.violations == [])
      }
    }
  }
}

/// `monitor-file` through the binary, watching LAVA jobs submitted elsewhere and played by the test.
@Suite(.serialized, .enabled(if: LAVATestServer.isConfigured))
struct MonitorFileEndToEndTests {
  let server: LAVATestServer
  static let runnerToken = "glrt-monitor-e2e-runner-token-1"

  init() throws {
    server = try LAVATestServer.fromEnvironment()
  }

  @Test func threeJobsFinishingInAnyOrderAreReportedAndAFailedCaseFailsTheJob() async throws {
    let worker = server.playedWorker()
    let http = try HTTPClient()
    defer { http.requestShutdown() }
    let lava = try LAVAConnections(http: http, metrics: RunnerMetrics()).server(
      url: server.url, token: server.token)
    try await worker.whileOnline {
      try await freePlayedDevices(worker: worker, http: http)
      var ids: [Int64] = []
      for index in 1...3 {
        ids += try await lava.submit(definition: server.playedJobDefinition(name: "monitored-\(index)"))
      }
      try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .milliseconds(500))) { gitlab in
        await gitlab.addRunnerToken(Self.runnerToken)
        let jobsJSON = #"{"jobids": [\#(ids.map(String.init).joined(separator: ", "))]}"#
        let job = await gitlab.enqueue(
          FakeJob(script: ["monitor-files jobs.json"])
            .variable(.init("LAVA_URL", server.url.absoluteString))
            .variable(.init("LAVA_TOKEN", server.token, masked: true))
            .dependency(.init(id: 99, name: "submit-elsewhere", archive: .files(["jobs.json": jobsJSON])))
            .artifact(.init(paths: ["*_log.yaml"], when: "always")))
        let (process, _) = try BuiltRunner.start(
          ["run", "--check-interval", "0.2"],
          environment: ["GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": Self.runnerToken])
        defer {
          process.terminate()
          process.waitUntilExit()
        }
        // The played worker has two devices: two jobs run while the third is queued; they
        // finish in the order second, first, third.
        for id in [ids[0], ids[1]] {
          _ = try await worker.startNextJob(id)
          try await worker.run(id)
        }
        try await worker.sendLog(
          ids[1], [PlayedWorker.resultLine(suite: "smoke", case: "boot", result: "pass")])
        try await worker.finish(ids[1], result: .pass)
        try await worker.sendLog(
          ids[0], [PlayedWorker.resultLine(suite: "smoke", case: "usb-enumerates", result: "fail")])
        try await worker.finish(ids[0], result: .pass)
        _ = try await worker.startNextJob(ids[2])
        try await worker.run(ids[2])
        try await worker.finish(ids[2], result: .pass)

        let result = try await gitlab.result(of: job.id, timeout: .seconds(90))
        let trace = await gitlab.traceText(of: job.id)
        #expect(result.failureReason == "script_failure", "\(trace.suffix(2000))")
        #expect(trace.contains("usb-enumerates"))
        for id in ids { #expect(trace.contains("/scheduler/job/\(id)")) }
        #expect(!trace.contains(server.token))
        let uploads = await gitlab.uploads(of: job.id)
        let names = try uploads.first { $0.artifactType == "archive" }?.zipEntries().keys.sorted() ?? []
        #expect(names == ids.map { "\($0)_log.yaml" }.sorted())
        #expect(await gitlab.violations == [])
      }
    }
  }
}

/// Cancels every unfinished job of the played device type (or `deviceType`, the one `worker`
/// serves) left by an earlier, interrupted run and ends them on the played worker, so that its
/// devices are free for the test's own jobs.
func freePlayedDevices(worker: PlayedWorker, http: HTTPClient, deviceType: String? = nil) async throws {
  let server = try LAVATestServer.fromEnvironment()
  for state in ["Submitted", "Scheduling", "Scheduled", "Running", "Canceling"] {
    var components = URLComponents(
      url: server.url.appendingPathComponent("api/v0.2/jobs/"), resolvingAgainstBaseURL: false)!
    components.queryItems = [
      URLQueryItem(name: "state", value: state),
      URLQueryItem(name: "requested_device_type", value: deviceType ?? server.playedDeviceType),
    ]
    let reply = try await http.data(
      for: HTTPRequest(url: components.url!, headers: ["Authorization": "Token \(server.token)"]))
    struct Page: Decodable {
      struct Job: Decodable { var id: Int64 }
      var results: [Job]
    }
    for job in (try? JSONDecoder().decode(Page.self, from: reply.body).results) ?? [] {
      _ = try await http.data(
        for: HTTPRequest(
          url: server.url.appendingPathComponent("api/v0.2/jobs/\(job.id)/cancel/"),
          headers: ["Authorization": "Token \(server.token)"]))
    }
  }
  try await worker.drain()
}
