import Foundation
import TestSupport
import Testing

@Suite("FakeGitLab: job flow")
struct FakeGitLabJobFlowTests {
  @Test func correctSequenceSucceedsWithoutViolations() async throws {
    try await withGitLab { gitlab, runner in
      let job = await gitlab.enqueue(
        FakeJob(name: "boot", script: ["submit lava-job.yaml"]).with {
          $0.beforeScript = ["echo prepare"]
          $0.afterScript = ["echo cleanup"]
        }.variable(.init("LAVA_TOKEN", "s3cret", masked: true)))

      let reply = try await runner.requestJob()
      #expect(reply.status == 201)
      #expect(reply.header("X-GitLab-Last-Update") != nil)
      #expect(reply.jobID == job.id)
      #expect(reply.jobToken == job.token)

      let log1 = "Running with lava-runner\n"
      let log2 = "Job succeeded\n"
      #expect(try await runner.patchTrace(job.id, token: job.token, offset: 0, log1).status == 202)
      let second = try await runner.patchTrace(job.id, token: job.token, offset: log1.utf8.count, log2)
      #expect(second.status == 202)
      #expect(second.header("Range") == "0-\((log1 + log2).utf8.count)")
      #expect(second.header("Job-Status") == "running")
      #expect(second.header("X-GitLab-Trace-Update-Interval") == "3")
      #expect(try await runner.update(job.id, token: job.token, state: "running").status == 200)
      let final = try await runner.finish(
        job.id, token: job.token, log: log1 + log2, state: "success", exitCode: 0)
      #expect(final.status == 200)

      let result = try await gitlab.result(of: job.id, timeout: .seconds(5))
      #expect(
        result == FakeJobResult(status: .success, reportedState: "success", failureReason: nil, exitCode: 0))
      #expect(await gitlab.traceText(of: job.id) == log1 + log2)
      #expect(await gitlab.keepAliveCount(of: job.id) == 1)
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func payloadIsShapedAsGitLabSendsIt() async throws {
    try await withGitLab { gitlab, runner in
      let bigID: Int64 = 5_000_000_001
      let job = await gitlab.enqueue(
        FakeJob(id: bigID, name: "boot", script: ["submit a.yaml"]).with {
          $0.beforeScript = ["echo before"]
          $0.afterScript = ["echo after"]
          $0.afterScriptTimeout = 120
          $0.timeout = 1800
        }.variable(.init("CONFIG", "x: 1", isPublic: false, file: true))
          .artifact(.init(paths: ["results/"], exclude: nil, when: "always", expireIn: "1 week")))
      var runner = runner
      runner.features["artifacts_exclude"] = true
      let payload = try #require(try await runner.requestJob().json)

      #expect((payload["id"] as? NSNumber)?.int64Value == bigID)
      #expect(payload["token"] as? String == job.token)
      #expect(payload["image"] is NSNull)
      #expect((payload["services"] as? [Any])?.isEmpty == true)
      let runnerInfo = try #require(payload["runner_info"] as? [String: Any])
      #expect(runnerInfo["timeout"] as? Int == 1800)
      let steps = try #require(payload["steps"] as? [[String: Any]])
      #expect(steps.count == 2)
      #expect(steps[0]["name"] as? String == "script")
      #expect(steps[0]["script"] as? [String] == ["echo before", "submit a.yaml"])
      #expect(steps[0]["when"] as? String == "on_success")
      #expect(steps[0]["allow_failure"] as? Bool == false)
      #expect(steps[1]["name"] as? String == "after_script")
      #expect(steps[1]["timeout"] as? Int == 120)
      let variables = try #require(payload["variables"] as? [[String: Any]])
      let jobToken = try #require(variables.first { $0["key"] as? String == "CI_JOB_TOKEN" })
      #expect(jobToken["masked"] as? Bool == true)
      #expect(jobToken["public"] as? Bool == false)
      let jobIDVariable = try #require(variables.first { $0["key"] as? String == "CI_JOB_ID" })
      #expect(jobIDVariable["value"] as? String == "5000000001")
      let config = try #require(variables.first { $0["key"] as? String == "CONFIG" })
      #expect(config["file"] as? Bool == true)
      #expect(config["raw"] == nil)
      #expect(jobIDVariable["file"] == nil)
      let artifacts = try #require(payload["artifacts"] as? [[String: Any]])
      #expect(artifacts.first?["artifact_format"] as? String == "zip")
      #expect(artifacts.first?["expire_in"] as? String == "1 week")
      let features = try #require(payload["features"] as? [String: Any])
      #expect(features["trace_sections"] as? Bool == true)
      #expect((features["failure_reasons"] as? [String])?.contains("runner_system_failure") == true)
      #expect((features["token_mask_prefixes"] as? [String])?.contains("glcbt-") == true)
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func jobWithoutArtifactsHasNullArtifacts() async throws {
    try await withGitLab { gitlab, runner in
      await gitlab.enqueue(FakeJob(script: ["true"]))
      let payload = try #require(try await runner.requestJob().json)
      #expect(payload["artifacts"] is NSNull)
      #expect((payload["dependencies"] as? [Any])?.isEmpty == true)
    }
  }

  @Test func emptyQueueAnswers204WithLastUpdate() async throws {
    try await withGitLab { gitlab, runner in
      let reply = try await runner.requestJob()
      #expect(reply.status == 204)
      #expect(reply.header("X-GitLab-Last-Update")?.isEmpty == false)
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func longPollWakesUpWhenAJobIsEnqueued() async throws {
    try await withGitLab(.init(longPollTimeout: .seconds(20))) { gitlab, runner in
      let first = try await runner.requestJob()
      let lastUpdate = try #require(first.header("X-GitLab-Last-Update"))
      async let held = runner.requestJob(lastUpdate: lastUpdate)
      // The enqueue must happen while the request is held: wait until the fake saw it arrive.
      for _ in 0..<2000 where await gitlab.heldLongPolls == 0 {
        try await Task.sleep(for: .milliseconds(5))
      }
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      let reply = try await held
      #expect(reply.status == 201)
      #expect(reply.jobID == job.id)
      #expect(reply.header("X-GitLab-Last-Update") != lastUpdate)
    }
  }

  @Test func longPollEndsWith204AndTheSameLastUpdate() async throws {
    try await withGitLab { gitlab, runner in
      let lastUpdate = try #require(try await runner.requestJob().header("X-GitLab-Last-Update"))
      let reply = try await runner.requestJob(lastUpdate: lastUpdate)
      #expect(reply.status == 204)
      #expect(reply.header("X-GitLab-Last-Update") == lastUpdate)
    }
  }

  @Test func junitJobIsRefusedUnlessTheRunnerUploadsMultipleArtifacts() async throws {
    try await withGitLab { gitlab, runner in
      let refused = await gitlab.enqueue(FakeJob(script: ["true"]).artifact(.junit(paths: ["report.xml"])))
      #expect(try await runner.requestJob().status == 204)
      let result = try await gitlab.result(of: refused.id, timeout: .seconds(1))
      #expect(result.status == .failed)
      #expect(result.failureReason == "runner_unsupported")

      let accepted = await gitlab.enqueue(FakeJob(script: ["true"]).artifact(.junit(paths: ["report.xml"])))
      var capable = runner
      capable.features["upload_multiple_artifacts"] = true
      #expect(try await capable.requestJob().jobID == accepted.id)
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func artifactsExcludeNeedsTheArtifactsExcludeFeature() async throws {
    try await withGitLab { gitlab, runner async throws in
      let job = await gitlab.enqueue(
        FakeJob(script: ["true"]).artifact(.init(paths: ["a/"], exclude: ["a/*.tmp"])))
      #expect(try await runner.requestJob().status == 204)
      #expect(try await gitlab.result(of: job.id, timeout: .seconds(1)).failureReason == "runner_unsupported")
    }
  }

  @Test func finalUpdateIsAcceptedWith202UntilGitLabHoldsTheWholeLog() async throws {
    try await withGitLab { gitlab, runner in
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      _ = try await runner.requestJob()
      #expect(try await runner.patchTrace(job.id, token: job.token, offset: 0, "part one\n").status == 202)
      let early = try await runner.finish(
        job.id, token: job.token, log: "part one\npart two\n", state: "success")
      #expect(early.status == 202)
      #expect(early.header("X-GitLab-Trace-Update-Interval") == "1")
      #expect(await gitlab.finalResult(of: job.id) == nil)
      #expect(try await runner.patchTrace(job.id, token: job.token, offset: 9, "part two\n").status == 202)
      let done = try await runner.finish(
        job.id, token: job.token, log: "part one\npart two\n", state: "success")
      #expect(done.status == 200)
      #expect(await gitlab.status(of: job.id) == .success)
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func configuredAcceptRoundsAnswer202BeforeAccepting() async throws {
    var configuration = FakeGitLab.Configuration(
      longPollTimeout: .milliseconds(300), finalUpdateAcceptRounds: 2)
    configuration.finalUpdateBackoff = 2
    try await withGitLab(configuration) { gitlab, runner in
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      _ = try await runner.requestJob()
      _ = try await runner.patchTrace(job.id, token: job.token, offset: 0, "log\n")
      var statuses: [Int] = []
      for _ in 0..<3 {
        let reply = try await runner.finish(
          job.id, token: job.token, log: "log\n", state: "failed", reason: "script_failure", exitCode: 1)
        statuses.append(reply.status)
      }
      #expect(statuses == [202, 202, 200])
      let result = await gitlab.finalResult(of: job.id)
      #expect(result?.failureReason == "script_failure")
      #expect(result?.exitCode == 1)
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func retriedFinalUpdateAfterSuccessIsForbiddenButNoViolation() async throws {
    try await withGitLab { gitlab, runner in
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      _ = try await runner.requestJob()
      #expect(try await runner.finish(job.id, token: job.token, log: "", state: "success").status == 200)
      let again = try await runner.finish(job.id, token: job.token, log: "", state: "success")
      #expect(again.status == 403)
      #expect(again.header("Job-Status") == "success")
      #expect(await gitlab.violations.isEmpty)
    }
  }
}
