import Foundation
import TestSupport
import Testing

@Suite("FakeGitLab: cancellation")
struct FakeGitLabCancelTests {
  @Test func gracefulCancelShowsCancelingUntilTheRunnersFinalUpdate() async throws {
    try await withGitLab { gitlab, runner in
      var graceful = runner
      graceful.features["cancel_gracefully"] = true
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      _ = try await graceful.requestJob()
      await gitlab.cancel(jobID: job.id)

      let patch = try await graceful.patchTrace(job.id, token: job.token, offset: 0, "after_script runs\n")
      #expect(patch.status == 202)
      #expect(patch.header("Job-Status") == "canceling")
      #expect(await gitlab.status(of: job.id) == .canceling)

      let final = try await graceful.finish(
        job.id, token: job.token, log: "after_script runs\n", state: "failed", reason: "script_failure")
      #expect(final.status == 200)
      let result = try await gitlab.result(of: job.id, timeout: .seconds(1))
      #expect(result.status == .canceled)
      #expect(result.reportedState == "failed")
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func cancelWithoutGracefulSupportKillsTheJobTokenAtOnce() async throws {
    try await withGitLab { gitlab, runner in
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      _ = try await runner.requestJob()
      await gitlab.cancel(jobID: job.id)

      let patch = try await runner.patchTrace(job.id, token: job.token, offset: 0, "x")
      #expect(patch.status == 403)
      #expect(patch.header("Job-Status") == "canceled")
      let update = try await runner.finish(
        job.id, token: job.token, log: "x", state: "failed", reason: "script_failure")
      #expect(update.status == 403)
      #expect(await gitlab.finalResult(of: job.id)?.status == .canceled)
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func forceCancelEndsAGracefulCancel() async throws {
    try await withGitLab { gitlab, runner in
      var graceful = runner
      graceful.features["cancel_gracefully"] = true
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      _ = try await graceful.requestJob()
      await gitlab.cancel(jobID: job.id)
      await gitlab.forceCancel(jobID: job.id)
      #expect(try await graceful.patchTrace(job.id, token: job.token, offset: 0, "x").status == 403)
    }
  }

  @Test func cancelingAPendingJobTakesItOffTheQueue() async throws {
    try await withGitLab { gitlab, runner async throws in
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      await gitlab.cancel(jobID: job.id)
      #expect(try await runner.requestJob().status == 204)
      #expect(await gitlab.status(of: job.id) == .canceled)
    }
  }
}
