import Foundation
import TestSupport
import Testing

@Suite("FakeGitLab: strictness")
struct FakeGitLabStrictnessTests {
  /// Starts a job and returns it, so each test can make one mistake on it.
  private func runningJob(_ gitlab: FakeGitLab, _ runner: RunnerClient) async throws -> EnqueuedJob {
    let job = await gitlab.enqueue(FakeJob(script: ["true"]))
    #expect(try await runner.requestJob().status == 201)
    return job
  }

  private func violations(_ gitlab: FakeGitLab, containing text: String) async -> Int {
    await gitlab.violations.filter { $0.contains(text) }.count
  }

  /// A runner SIGKILLed with a patch in flight: the fake takes that patch after the test said
  /// the runner died, and the next runner, which never heard the reply, sends it once more.
  @Test func aPatchTakenAfterTheRunnerDiedStillLetsTheNextRunnerResendItOnce() async throws {
    try await withGitLab { gitlab, runner in
      let job = try await runningJob(gitlab, runner)
      #expect(try await runner.patchTrace(job.id, token: job.token, offset: 0, "hello").status == 202)
      await gitlab.runnerProcessDied()
      #expect(try await runner.patchTrace(job.id, token: job.token, offset: 5, " world").status == 202)

      let resent = try await runner.patchTrace(job.id, token: job.token, offset: 5, " world")
      #expect(resent.status == 416)
      #expect(resent.header("Range") == "0-11")
      #expect(await gitlab.violations == [])
      let twice = try await runner.patchTrace(job.id, token: job.token, offset: 5, " world")
      #expect(twice.status == 416)
      #expect(await violations(gitlab, containing: "duplicated chunk") == 1)
    }
  }

  @Test func contentRangeMustStartAtTheCurrentLength() async throws {
    try await withGitLab { gitlab, runner in
      let job = try await runningJob(gitlab, runner)
      let first = try await runner.patchTrace(job.id, token: job.token, offset: 0, "hello")
      #expect(first.status == 202)
      #expect(first.header("Range") == "0-5")

      let duplicate = try await runner.patchTrace(job.id, token: job.token, offset: 0, "hello")
      #expect(duplicate.status == 416)
      #expect(duplicate.header("Range") == "0-5")
      #expect(await violations(gitlab, containing: "duplicated chunk") == 1)

      let gap = try await runner.patchTrace(job.id, token: job.token, offset: 7, "lo")
      #expect(gap.status == 416)
      #expect(gap.header("Range") == "0-5")
      #expect(await violations(gitlab, containing: "gap") == 1)

      let resumed = try await runner.patchTrace(job.id, token: job.token, offset: 5, " world")
      #expect(resumed.status == 202)
      #expect(resumed.header("Range") == "0-11")
      #expect(await gitlab.traceText(of: job.id) == "hello world")
    }
  }

  @Test func contentRangeEndMustBeTheLastByteOfTheBody() async throws {
    try await withGitLab { gitlab, runner in
      let job = try await runningJob(gitlab, runner)
      // The exclusive end the official runner once sent (gitlab-runner#3275): GitLab still appends.
      let reply = try await runner.patchTrace(job.id, token: job.token, offset: 0, "abc", range: "0-3")
      #expect(reply.status == 202)
      #expect(await violations(gitlab, containing: "covers 4 bytes but the body has 3") == 1)
      #expect(await gitlab.traceText(of: job.id) == "abc")
    }
  }

  @Test func missingContentRangeIsRefused() async throws {
    try await withGitLab { gitlab, runner in
      let job = try await runningJob(gitlab, runner)
      let reply = try await Curl.send(
        "PATCH", "\(runner.api)/jobs/\(job.id)/trace", headers: ["JOB-TOKEN": job.token], body: Data("x".utf8)
      )
      #expect(reply.status == 400)
      #expect(await violations(gitlab, containing: "no Content-Range") == 1)
    }
  }

  @Test func oversizedPatchIsAViolation() async throws {
    var configuration = FakeGitLab.Configuration(longPollTimeout: .milliseconds(300))
    configuration.maxTracePatchBytes = 8
    try await withGitLab(configuration) { gitlab, runner in
      let job = try await runningJob(gitlab, runner)
      #expect(try await runner.patchTrace(job.id, token: job.token, offset: 0, "123456789").status == 202)
      #expect(await violations(gitlab, containing: "send at most 8") == 1)
    }
  }

  @Test func wrongJobTokenIsForbiddenAndRecorded() async throws {
    try await withGitLab { gitlab, runner in
      let job = try await runningJob(gitlab, runner)
      #expect(try await runner.patchTrace(job.id, token: "glcbt-wrong", offset: 0, "x").status == 403)
      #expect(try await runner.update(job.id, token: "glcbt-wrong", state: "running").status == 403)
      #expect(await violations(gitlab, containing: "not job \(job.id)'s") == 2)
      #expect(await gitlab.trace(of: job.id).isEmpty)
    }
  }

  @Test func secretsNeverAppearInViolations() async throws {
    try await withGitLab { gitlab, runner in
      let job = try await runningJob(gitlab, runner)
      _ = try await runner.patchTrace(job.id, token: job.token + "x", offset: 0, "x")
      #expect(await gitlab.violations.allSatisfy { !$0.contains(job.token) })
    }
  }

  @Test func badJSONOnJobRequestIsRecorded() async throws {
    try await withGitLab { gitlab, runner in
      let reply = try await Curl.send(
        "POST", "\(runner.api)/jobs/request", headers: ["Content-Type": "application/json"],
        body: Data("{not json".utf8))
      #expect(reply.status == 400)
      #expect(await violations(gitlab, containing: "not a JSON object") == 1)
    }
  }

  @Test func jobRequestFieldsAreChecked() async throws {
    try await withGitLab { gitlab, runner in
      let body = Curl.json(["token": runner.token, "system_id": "machine-1", "info": ["name": "x"]])
      let reply = try await Curl.send(
        "POST", "\(runner.api)/jobs/request", headers: ["RUNNER-TOKEN": "glrt-other"], body: body)
      #expect(reply.status == 204)
      #expect(await violations(gitlab, containing: "RUNNER-TOKEN header differs") == 1)
      #expect(await violations(gitlab, containing: "does not match ^[sr]_") == 1)
      #expect(await violations(gitlab, containing: "info.features` is missing") == 1)
    }
  }

  @Test func unknownRunnerTokenIsForbiddenWithoutViolation() async throws {
    try await withGitLab { gitlab, runner in
      var stranger = runner
      stranger.token = "glrt-unknown"
      let reply = try await stranger.requestJob()
      #expect(reply.status == 403)
      #expect(reply.header("X-GitLab-Last-Update") != nil)
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func unknownPathAndMethodAreRecorded() async throws {
    try await withGitLab { gitlab, runner async throws in
      #expect(try await Curl.send("GET", "\(runner.api)/jobs/request").status == 405)
      #expect(try await Curl.send("POST", "\(runner.api)/jobs/1/cancel").status == 404)
      #expect(await gitlab.violations.count == 2)
    }
  }

  @Test func unknownFailureReasonIsRecordedAndStoredAsUnknownFailure() async throws {
    try await withGitLab { gitlab, runner in
      let job = try await runningJob(gitlab, runner)
      let reply = try await runner.finish(
        job.id, token: job.token, log: "", state: "failed", reason: "lava_broke")
      #expect(reply.status == 200)
      #expect(await violations(gitlab, containing: "unknown failure_reason \"lava_broke\"") == 1)
      #expect(await gitlab.finalResult(of: job.id)?.failureReason == "unknown_failure")
    }
  }

  @Test func finalUpdateWithAWrongChecksumIsRecorded() async throws {
    try await withGitLab { gitlab, runner in
      let job = try await runningJob(gitlab, runner)
      _ = try await runner.patchTrace(job.id, token: job.token, offset: 0, "abc")
      let reply = try await runner.finish(job.id, token: job.token, log: "abd", state: "success")
      #expect(reply.status == 200)
      #expect(await violations(gitlab, containing: "output.checksum") == 1)
    }
  }

  @Test func finalUpdateWithoutAdvertisedChecksumIsRecorded() async throws {
    try await withGitLab { gitlab, runner in
      let job = try await runningJob(gitlab, runner)
      #expect(try await runner.update(job.id, token: job.token, state: "success").status == 200)
      #expect(await violations(gitlab, containing: "advertised trace_checksum") == 1)
      #expect(await violations(gitlab, containing: "advertised trace_size") == 1)
    }
  }

  @Test func unknownStateIsABadRequest() async throws {
    try await withGitLab { gitlab, runner in
      let job = try await runningJob(gitlab, runner)
      #expect(try await runner.update(job.id, token: job.token, state: "pending").status == 400)
      #expect(await violations(gitlab, containing: "`state` is \"pending\"") == 1)
    }
  }

  @Test func updatesAfterTheRunnersOwnFinalUpdateAreRecorded() async throws {
    try await withGitLab { gitlab, runner in
      let job = try await runningJob(gitlab, runner)
      _ = try await runner.finish(job.id, token: job.token, log: "", state: "success")
      let late = try await runner.patchTrace(job.id, token: job.token, offset: 0, "late")
      #expect(late.status == 403)
      #expect(await violations(gitlab, containing: "already finished by the runner") == 1)
    }
  }

  @Test func checksumIsCRC32IEEE() {
    #expect(FakeGitLab.crc32(Data("123456789".utf8)) == 0xCBF4_3926)
  }
}
