import Foundation
import Protocols
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import RunnerCore

/// `submit`'s retries and watchdogs against the real LAVA test server, through the runner and
/// the fake GitLab, with a played worker deciding how each LAVA job runs (issue 9, items 3-4).
@Suite(.serialized, .enabled(if: LAVATestServer.isConfigured))
struct LAVARetrySystemTests {
  let server: LAVATestServer

  init() throws {
    server = try LAVATestServer.fromEnvironment()
  }

  func job(_ name: String, _ variables: [String: String] = [:]) -> FakeJob {
    var job = FakeJob(name: name, script: ["submit lava-job.yaml"])
      .variable(.init("LAVA_URL", server.url.absoluteString))
      .variable(.init("LAVA_TOKEN", server.token, masked: true))
    for (key, value) in variables.sorted(by: { $0.key < $1.key }) { job = job.variable(.init(key, value)) }
    return
      job
      .dependency(
        .init(
          id: 900, name: "prepare", archive: .files(["lava-job.yaml": server.playedJobDefinition(name: name)])
        )
      )
      .artifact(.init(paths: ["*_log.yaml"], when: "always"))
  }

  /// Runs the GitLab job `job` on a runner of this process while `play` plays the LAVA side
  /// (`setUp` plays it before the runner starts); returns its result, its job log without
  /// colours and its uploads.
  func run(
    _ job: FakeJob, play: @escaping @Sendable (PlayedWorker) async throws -> Void = { _ in },
    setUp: @escaping @Sendable (PlayedWorker) async throws -> Void = { _ in }
  ) async throws -> (FakeJobResult, String, [ArtifactUpload]) {
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    let http = try HTTPClient(configuration: configuration)
    defer { http.requestShutdown() }
    let worker = server.playedWorker()
    return try await worker.whileOnline(interval: .seconds(1)) {
      try await freePlayedDevices(worker: worker, http: http)
      try await setUp(worker)
      return try await FakeGitLab.withRunning(
        configuration: .init(longPollTimeout: .milliseconds(500), traceUpdateInterval: 1)
      ) { gitlab in
        await gitlab.addRunnerToken(LAVAFaultTests.runnerToken)
        let enqueued = await gitlab.enqueue(job)
        let runner = try await LAVAFaultTests().runner(gitlab: gitlab, http: http)
        let stop = RunnerStop()
        async let loop: Void = runner.run(until: stop)
        do {
          try await play(worker)
          let result = try await gitlab.result(of: enqueued.id, timeout: .seconds(30))
          stop.abort()
          try await loop
          let raw = await gitlab.traceText(of: enqueued.id)
          #expect(GitLabSections.problems(in: raw).isEmpty, "\(GitLabSections.problems(in: raw))")
          return (result, LAVAFaultTests.plain(raw), await gitlab.uploads(of: enqueued.id))
        } catch {
          // The job log says where the play stalled.
          Issue.record("\(LAVAFaultTests.plain(await gitlab.traceText(of: enqueued.id)).suffix(2000))")
          stop.abort()
          try? await loop
          throw error
        }
      }
    }
  }

  @Test func anInfrastructureFailureIsRetriedAndTheGitLabJobSucceedsWithBothAttemptsVisible() async throws {
    let started = ContinuousClock.now
    let ids = IDs()
    let (result, trace, uploads) = try await run(job("retry-infra")) { worker in
      let first = try await worker.startNextJob(timeout: .seconds(60))
      await ids.add(first.id)
      try await worker.run(first.id)
      // As a dispatcher does: the `lava` suite's `job` result carries the error type.
      try await worker.sendLog(
        first.id,
        [
          PlayedWorker.logLine("U-Boot 2024.01: no ethernet found"),
          PlayedWorker.resultLine(
            suite: "lava", case: "job", result: "fail",
            extra: ["error_type": "Infrastructure", "error_msg": "dhcp failed"]),
        ])
      try await worker.finish(first.id, result: .fail, errorType: "Infrastructure", errors: "dhcp failed")
      let second = try await worker.startNextJob(timeout: .seconds(60))
      await ids.add(second.id)
      try await worker.run(second.id)
      try await worker.sendLog(
        second.id,
        [
          PlayedWorker.logLine("second attempt boots"),
          PlayedWorker.resultLine(suite: "smoke", case: "boot", result: "pass"),
        ])
      try await worker.finish(second.id, result: .pass)
    }
    let played = await ids.all
    try #require(played.count == 2)
    #expect(result.status == .success, "\(trace.suffix(3000))")
    #expect(trace.contains("LAVA job \(played[0]) log, attempt 1 of 3"))
    #expect(trace.contains("LAVA job \(played[1]) log, attempt 2 of 3"))
    #expect(
      trace.contains(
        "failed because of LAVA: LAVA job \(played[0]) ended Incomplete with error type Infrastructure: dhcp failed"
      ))
    #expect(trace.contains("the definition's job timeout"))
    // Both attempts in the summary table.
    for (index, id) in played.enumerated() {
      let row =
        String(id).padding(toLength: 8, withPad: " ", startingAt: 0) + "  \(index + 1) of 3   played-0"
      #expect(trace.contains(row), "\(trace.suffix(1500))")
    }
    let archive = try #require(uploads.first { $0.artifactType == "archive" })
    let names = try archive.zipEntries().keys
    #expect(names.contains("\(played[0])_log.yaml") && names.contains("\(played[1])_log.yaml"))
    print("LAVA retry (infrastructure, then pass): \(ContinuousClock.now - started)")
  }

  @Test func aRunningJobThatGoesQuietIsCanceledAfterTheHangTimeoutAndRetried() async throws {
    let started = ContinuousClock.now
    let ids = IDs()
    let (result, trace, _) = try await run(job("retry-hang", ["LAVA_HANG_TIMEOUT": "3s"])) { worker in
      let first = try await worker.startNextJob(timeout: .seconds(60))
      await ids.add(first.id)
      try await worker.run(first.id)
      try await worker.sendLog(first.id, [PlayedWorker.logLine("Starting kernel ...")])
      // Then silence: the runner must cancel it; the worker acts on the cancel as LAVA's does.
      let quiet = ContinuousClock.now
      try await worker.waitForCancel(first.id, timeout: .seconds(60))
      await ids.noteQuiet(ContinuousClock.now - quiet)
      try await worker.finish(first.id, result: .fail, errorType: "Canceled")
      let second = try await worker.startNextJob(timeout: .seconds(60))
      await ids.add(second.id)
      try await worker.run(second.id)
      try await worker.sendLog(
        second.id, [PlayedWorker.resultLine(suite: "smoke", case: "boot", result: "pass")])
      try await worker.finish(second.id, result: .pass)
    }
    let played = await ids.all
    try #require(played.count == 2)
    let quiet = try #require(await ids.quiet)
    #expect(quiet >= .seconds(2) && quiet < .seconds(12), "canceled after \(quiet) of silence")
    #expect(result.status == .success, "\(trace.suffix(3000))")
    #expect(trace.contains("LAVA job \(played[0]): no new log line for "))
    #expect(trace.contains("(LAVA_HANG_TIMEOUT); canceling it in LAVA"))
    #expect(trace.contains("Hung (canceled)"))
    #expect(trace.contains("LAVA job \(played[1]) log, attempt 2 of 3"))
    print("LAVA retry (hang of 3s, then pass): \(ContinuousClock.now - started)")
  }

  @Test func aJobThatNeverLeavesTheQueueFailsAfterTheQueueTimeoutWithTheDeviceTypeFacts() async throws {
    let started = ContinuousClock.now
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    let http = try HTTPClient(configuration: configuration)
    defer { http.requestShutdown() }
    let client = try LAVAConnections(http: http, metrics: RunnerMetrics()).client(
      url: server.url, token: server.token)
    let ids = IDs()
    // Both played devices busy and one job waiting before the GitLab job's: it cannot start.
    // A GitLab job of 5 minutes, shorter than the definition's 10: warned at submission.
    var gitlabJob = job("retry-queue", ["LAVA_QUEUE_TIMEOUT": "3s"])
    gitlabJob.timeout = 300
    let (result, trace, _) = try await run(
      gitlabJob,
      setUp: { worker in
        for _ in 0..<2 {
          let id = try await client.submit(definition: server.playedJobDefinition(name: "queue-filler"))[0]
          let job = try await worker.startNextJob(id, timeout: .seconds(60))
          try await worker.run(job.id)
          await ids.add(id)
        }
        await ids.add(try await client.submit(definition: server.playedJobDefinition(name: "queue-ahead"))[0])
      })
    #expect(
      result.status == .failed && result.failureReason == "runner_system_failure", "\(trace.suffix(2000))")
    #expect(trace.contains("was still queued after "))
    #expect(
      trace.contains(
        "(LAVA_QUEUE_TIMEOUT): device type \(server.playedDeviceType): 2 devices, 2 online (health Good or "
          + "Unknown), 0 of them idle; 1 job ahead in the queue"), "\(trace.suffix(2000))")
    #expect(!trace.contains("Submitting lava-job.yaml again"))
    #expect(
      trace.contains(
        "lava-job.yaml lets LAVA run the job for up to 10m (timeouts: job), but the GitLab job has 4m"))
    let worker = server.playedWorker()
    for id in await ids.all { try? await client.cancel(id) }
    try await freePlayedDevices(worker: worker, http: http)
    print("LAVA queue timeout of 3s: \(ContinuousClock.now - started)")
  }
}

private actor IDs {
  var all: [Int64] = []
  var quiet: Duration?
  func add(_ id: Int64) { all.append(id) }
  func noteQuiet(_ duration: Duration) { quiet = duration }
}
