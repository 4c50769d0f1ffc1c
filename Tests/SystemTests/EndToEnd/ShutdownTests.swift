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

@Suite(.serialized) struct ShutdownTests {
  let configuration = FakeGitLab.Configuration(longPollTimeout: .milliseconds(300), traceUpdateInterval: 1)

  @Test func aGracefulStopTakesNoMoreJobsAndLetsTheRunningOnesFinish() async throws {
    try await FakeGitLab.withRunning(configuration: configuration) { gitlab in
      let harness = try await RunnerHarness(gitlab: gitlab, concurrent: 3)
      let jobs = [
        await gitlab.enqueue(FakeJob(script: ["sleep-test 5000"])),
        await gitlab.enqueue(FakeJob(script: ["sleep-test 5000"])),
        await gitlab.enqueue(FakeJob(script: ["sleep-test 5000"])),
      ]
      let loop = Task { try await harness.poller.run(until: harness.stop) }
      for job in jobs { try await waitUntil { await gitlab.status(of: job.id) == .running } }
      harness.stop.graceful()
      let late = await gitlab.enqueue(FakeJob(script: ["echo-test late"]))
      try await loop.value
      for job in jobs {
        let result = try #require(await gitlab.finalResult(of: job.id))
        #expect(result.status == .success)
        #expect(await gitlab.traceText(of: job.id).contains("slept"))
      }
      let lateStatus = await gitlab.status(of: late.id)
      let requests = await gitlab.requests.map { "\($0.method) \($0.path) \($0.status)" }
      #expect(lateStatus == .pending, "\(String(describing: lateStatus)) \(requests)")
      #expect(await gitlab.violations == [])
      await harness.http.shutdown()
    }
  }

  @Test func anAbortEndsEveryRunningJobAsRunnerInterrupted() async throws {
    try await FakeGitLab.withRunning(configuration: configuration) { gitlab in
      let harness = try await RunnerHarness(gitlab: gitlab, concurrent: 3)
      let jobs = [
        await gitlab.enqueue(FakeJob(script: ["wait-test"])),
        await gitlab.enqueue(FakeJob(script: ["wait-test"])),
        await gitlab.enqueue(
          FakeJob(script: ["wait-test"]).with { $0.afterScript = ["echo-test not-on-abort"] }),
      ]
      let loop = Task { try await harness.poller.run(until: harness.stop) }
      for job in jobs {
        try await waitUntil { await gitlab.traceText(of: job.id).contains("$ wait-test") }
      }
      let clock = ContinuousClock()
      let start = clock.now
      harness.stop.abort()
      try await loop.value
      #expect(clock.now - start < .seconds(20))
      for job in jobs {
        let result = try #require(await gitlab.finalResult(of: job.id), "job \(job.id) was left running")
        #expect(result.status == .failed)
        #expect(result.failureReason == "runner_interrupted")
        let trace = await gitlab.traceText(of: job.id)
        #expect(trace.contains("cleaning up after runnerShutdown"))
        #expect(trace.contains("the runner is shutting down"))
        #expect(!trace.contains("not-on-abort"))
      }
      #expect(await gitlab.violations == [])
      await harness.http.shutdown()
    }
  }

  @Test func anAbortAfterAGracefulStopStillReachesTheRunningJobs() async throws {
    try await FakeGitLab.withRunning(configuration: configuration) { gitlab in
      let harness = try await RunnerHarness(gitlab: gitlab, concurrent: 2)
      let job = await gitlab.enqueue(FakeJob(script: ["wait-test"]))
      let loop = Task { try await harness.poller.run(until: harness.stop) }
      try await waitUntil { await gitlab.traceText(of: job.id).contains("$ wait-test") }
      harness.stop.graceful()
      try await Task.sleep(for: .milliseconds(300))
      #expect(await gitlab.finalResult(of: job.id) == nil)
      harness.stop.abort()
      try await loop.value
      #expect(await gitlab.finalResult(of: job.id)?.failureReason == "runner_interrupted")
      await harness.http.shutdown()
    }
  }
}
