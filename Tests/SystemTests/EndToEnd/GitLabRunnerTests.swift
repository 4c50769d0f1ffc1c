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

@Suite(.serialized) struct GitLabRunnerTests {
  func withRunner<T: Sendable>(
    configuration: FakeGitLab.Configuration = .init(
      longPollTimeout: .milliseconds(300), traceUpdateInterval: 1),
    concurrent: Int = 4,
    _ body: @Sendable (FakeGitLab) async throws -> T
  ) async throws -> T {
    try await FakeGitLab.withRunning(configuration: configuration) { gitlab in
      let harness = try await RunnerHarness(gitlab: gitlab, concurrent: concurrent)
      return try await harness.running { try await body(gitlab) }
    }
  }

  @Test func aJobIsTakenItsLinesRunAndItsLogArrivesCompleteAndMasked() async throws {
    try await withRunner { gitlab in
      let job = await gitlab.enqueue(
        FakeJob(script: [
          "echo-test hello world", "echo-test 'the secret is s3cr3t-value-42'",
          "echo-test glpat-abcdef123456",
        ])
        .variable(.init("SECRET", "s3cr3t-value-42", masked: true)))
      let result = try await gitlab.result(of: job.id, timeout: .seconds(30))
      #expect(result.status == .success)
      #expect(result.reportedState == "success")
      #expect(result.exitCode == 0)
      let trace = await gitlab.traceText(of: job.id)
      #expect(trace.contains("$ echo-test hello world\u{1B}[0;m\nhello|world\n"))
      #expect(trace.contains("the secret is [MASKED]"))
      #expect(!trace.contains("s3cr3t-value-42"))
      #expect(trace.contains("glpat-[MASKED]"))
      #expect(!trace.contains(job.token))
      #expect(trace.hasSuffix("Job succeeded\n\u{1B}[0;m") || trace.contains("Job succeeded"))
      #expect(await gitlab.violations == [])
    }
  }

  @Test func failuresCarryTheReasonTheCommandChose() async throws {
    try await withRunner { gitlab in
      let infra = await gitlab.enqueue(FakeJob(script: ["infra-fail-test"]))
      let typo = await gitlab.enqueue(FakeJob(script: ["sumbit job.yaml"]))
      let quote = await gitlab.enqueue(FakeJob(script: ["echo-test 'open"]))
      let infraResult = try await gitlab.result(of: infra.id, timeout: .seconds(30))
      #expect(infraResult.status == .failed)
      #expect(infraResult.failureReason == "runner_system_failure")
      #expect(infraResult.exitCode == 3)
      let typoResult = try await gitlab.result(of: typo.id, timeout: .seconds(30))
      #expect(typoResult.failureReason == "script_failure")
      #expect(
        await gitlab.traceText(of: typo.id).contains("unknown command 'sumbit'; did you mean 'submit'?"))
      let quoteResult = try await gitlab.result(of: quote.id, timeout: .seconds(30))
      #expect(quoteResult.failureReason == "script_failure")
      #expect(await gitlab.traceText(of: quote.id).contains("column 11: unbalanced single quote"))
      #expect(await gitlab.violations == [])
    }
  }

  @Test func afterScriptRunsAfterAFailureAndTheTimeoutIsEnforced() async throws {
    try await withRunner { gitlab in
      let failing = await gitlab.enqueue(
        FakeJob(script: ["echo-test --fail x"]).with { $0.afterScript = ["echo-test cleanup-ran"] })
      let slow = await gitlab.enqueue(
        FakeJob(script: ["wait-test"]).with {
          $0.timeout = 1
          $0.afterScript = ["echo-test after-timeout"]
        })
      let outcome1 = try await gitlab.result(of: failing.id, timeout: .seconds(30))
      #expect(outcome1.failureReason == "runner_system_failure")
      #expect(await gitlab.traceText(of: failing.id).contains("cleanup-ran"))
      let slowResult = try await gitlab.result(of: slow.id, timeout: .seconds(30))
      #expect(slowResult.failureReason == "job_execution_timeout")
      let trace = await gitlab.traceText(of: slow.id)
      #expect(trace.contains("execution took longer than 1s"))
      #expect(trace.contains("after-timeout"))
      #expect(await gitlab.violations == [])
    }
  }

  @Test func aGracefulCancelReachesTheCommandAndAfterScriptStillRuns() async throws {
    try await withRunner { gitlab in
      let job = await gitlab.enqueue(
        FakeJob(script: ["wait-test"]).with { $0.afterScript = ["echo-test after-cancel"] })
      try await waitUntil { await gitlab.traceText(of: job.id).contains("$ wait-test") }
      await gitlab.cancel(jobID: job.id)
      let result: FakeJobResult
      do {
        result = try await gitlab.result(of: job.id, timeout: .seconds(10))
      } catch {
        print(await gitlab.requests.map { "\($0.method) \($0.path) \($0.status)" }.joined(separator: "\n"))
        print(await gitlab.traceText(of: job.id))
        throw error
      }
      #expect(result.status == .canceled)
      let trace = await gitlab.traceText(of: job.id)
      #expect(trace.contains("cleaning up after canceledGracefully"))
      #expect(trace.contains("after-cancel"))
      #expect(await gitlab.violations == [])
    }
  }

  @Test func anImmediateCancelStopsTheCommand() async throws {
    try await withRunner { gitlab in
      let job = await gitlab.enqueue(
        FakeJob(script: ["wait-test"]).with { $0.afterScript = ["echo-test never"] })
      try await waitUntil { await gitlab.traceText(of: job.id).contains("$ wait-test") }
      await gitlab.cancel(jobID: job.id)
      await gitlab.forceCancel(jobID: job.id)
      let result = try await gitlab.result(of: job.id, timeout: .seconds(30))
      #expect(result.status == .canceled)
      // The job token died with the cancel: nothing after it reaches GitLab, and the runner
      // must notice within a keep-alive or trace interval.
      try await waitUntil {
        await gitlab.requests.contains { $0.path.hasSuffix("/\(job.id)") && $0.status == 403 }
      }
      #expect(await gitlab.violations == [])
    }
  }

  @Test func aFileIsFoundInTheSecondOfTwoDependencies() async throws {
    try await withRunner { gitlab in
      let job = await gitlab.enqueue(
        FakeJob(script: ["cat-test jobs/lava.yaml"])
          .dependency(.init(id: 11, name: "build", archive: .files(["other.txt": "no"])))
          .dependency(
            .init(id: 12, name: "prepare", archive: .files(["jobs/lava.yaml": "device_type: qemu"]))))
      let outcome2 = try await gitlab.result(of: job.id, timeout: .seconds(30))
      #expect(outcome2.status == .success)
      let trace = await gitlab.traceText(of: job.id)
      #expect(trace.contains("content: device_type: qemu"))
      #expect(trace.contains("Found jobs/lava.yaml in the artifacts of prepare (job 12)"))
      #expect(await gitlab.violations == [])
    }
  }

  /// What a command resumed after a runner restart asks for: the previous runner said it.
  @Test func aFileLookedUpQuietlyIsFoundWithoutTheLineSayingWhere() async throws {
    try await withRunner { gitlab in
      let job = await gitlab.enqueue(
        FakeJob(script: ["cat-test --quietly jobs/lava.yaml", "cat-test other.txt"])
          .dependency(.init(id: 13, name: "build", archive: .files(["other.txt": "no"])))
          .dependency(
            .init(id: 14, name: "prepare", archive: .files(["jobs/lava.yaml": "device_type: qemu"]))))
      let result = try await gitlab.result(of: job.id, timeout: .seconds(30))
      #expect(result.status == .success)
      let trace = await gitlab.traceText(of: job.id)
      #expect(trace.contains("content: device_type: qemu"))
      #expect(!trace.contains("Found jobs/lava.yaml"), "\(trace)")
      #expect(trace.contains("Found other.txt in the artifacts of build (job 13)"))
      #expect(await gitlab.violations == [])
    }
  }

  @Test func aMissingFileNamesEveryDependencySearchedAndThoseUnavailable() async throws {
    try await withRunner { gitlab in
      let job = await gitlab.enqueue(
        FakeJob(script: ["cat-test lava.yaml"])
          .dependency(.init(id: 21, name: "build", archive: .files(["a.txt": "a"])))
          .dependency(.init(id: 22, name: "expired", archive: .missing))
          .dependency(.init(id: 23, name: "private", archive: .forbidden))
          .dependency(.init(id: 24, name: "stored", archive: .files(["b.txt": "b"]), viaObjectStorage: true)))
      let result = try await gitlab.result(of: job.id, timeout: .seconds(30))
      #expect(result.failureReason == "script_failure")
      let trace = await gitlab.traceText(of: job.id)
      #expect(trace.contains("lava.yaml is not in the artifacts of this job's dependencies"))
      #expect(trace.contains("searched: build (job 21), stored (job 24)"))
      #expect(trace.contains("expired (job 22): its artifacts are gone (404"))
      #expect(trace.contains("private (job 23): its artifacts are forbidden (403)"))
      #expect(await gitlab.violations == [])
    }
  }

  @Test func artifactsAreUploadedAsZipAndJUnitAsGzipAccordingToPathsAndWhen() async throws {
    try await withRunner { gitlab in
      let job = await gitlab.enqueue(
        FakeJob(script: [
          "produce-test 1_log.yaml log-one", "produce-test 1_junit.xml '<testsuites/>'",
          "produce-test notes.txt skip-me",
        ])
        .artifact(.init(paths: ["*_log.yaml"], when: "always", expireIn: "1 week"))
        .artifact(.junit(paths: ["*_junit.xml"]))
        .artifact(.init(paths: ["notes.txt"], when: "on_failure")))
      let outcome3 = try await gitlab.result(of: job.id, timeout: .seconds(30))
      #expect(outcome3.status == .success)
      let uploads = await gitlab.uploads(of: job.id)
      #expect(uploads.count == 2)
      let archive = try #require(uploads.first { $0.artifactType == "archive" })
      #expect(archive.artifactFormat == "zip")
      #expect(archive.expireIn == "1 week")
      #expect(try archive.zipEntries() == ["1_log.yaml": Data("log-one".utf8)])
      let junit = try #require(uploads.first { $0.artifactType == "junit" })
      #expect(junit.artifactFormat == "gzip")
      #expect(try junit.gunzipped() == Data("<testsuites/>".utf8))
      #expect(await gitlab.violations == [])
    }
  }

  @Test func anUploadRefusedAsTooLargeIsReportedWithoutChangingTheResult() async throws {
    let configuration = FakeGitLab.Configuration(
      longPollTimeout: .milliseconds(300), traceUpdateInterval: 1, maxArtifactBytes: 64)
    try await withRunner(configuration: configuration) { gitlab in
      let big = String(repeating: "x", count: 4096)
      let job = await gitlab.enqueue(
        FakeJob(script: ["produce-test 1_log.yaml \(big)"]).artifact(.init(paths: ["*_log.yaml"])))
      let result = try await gitlab.result(of: job.id, timeout: .seconds(30))
      #expect(result.status == .success)
      #expect(await gitlab.traceText(of: job.id).contains("GitLab refused artifacts as too large (413)"))
      #expect(await gitlab.uploads(of: job.id).isEmpty)
      #expect(await gitlab.violations == [])
    }
  }

  @Test func everyTraceArrivesByteIdenticalWhenATenthOfGitLabsRepliesFail() async throws {
    let configuration = FakeGitLab.Configuration(
      longPollTimeout: .milliseconds(300), traceUpdateInterval: 1,
      faults: FaultPlan(seed: 7, rate: 0.1))
    try await withRunner(configuration: configuration, concurrent: 8) { gitlab in
      var jobs: [(EnqueuedJob, UInt64)] = []
      for index in 0..<(Int(ProcessInfo.processInfo.environment["E2E_JOBS"] ?? "20") ?? 20) {
        let seed = UInt64(index + 1)
        jobs.append((await gitlab.enqueue(FakeJob(script: ["spam-test 62000 80 \(seed)"])), seed))
      }
      for (job, seed) in jobs {
        let result = try await gitlab.result(of: job.id, timeout: .seconds(240))
        #expect(result.status == .success, "job \(job.id): \(result)")
        let trace = await gitlab.traceText(of: job.id)
        let expected = SpamTestCommand.text(lines: 62000, width: 80, seed: seed)
        #expect(expected.utf8.count > 5_000_000)
        let start = try #require(trace.range(of: "$ spam-test 62000 80 \(seed)\u{1B}[0;m\n"))
        let body = trace[start.upperBound...]
        #expect(body.hasPrefix(expected), "job \(job.id) lost or doubled log bytes")
      }
      #expect(await gitlab.injectedFaults.count > 0)
      #expect(await gitlab.violations == [])
    }
  }
}

func waitUntil(
  timeout: Duration = .seconds(20), _ condition: @Sendable () async -> Bool
) async throws {
  let clock = ContinuousClock()
  let deadline = clock.now + timeout
  while clock.now < deadline {
    if await condition() { return }
    try await Task.sleep(for: .milliseconds(50))
  }
  Issue.record("condition not met within \(timeout)")
}
