import Foundation
import TestSupport
import Testing

@Suite("FakeGitLab: fault injection")
struct FakeGitLabFaultTests {
  @Test func droppedConnectionSendsNoResponseByte() async throws {
    try await withGitLab { gitlab, runner in
      await gitlab.failNext(.requestJob, with: .dropConnection)
      let dropped = try await runner.requestJob()
      // curl's 52: "the server did not reply anything".
      #expect(dropped.exitCode == 52)
      #expect(dropped.status == 0)
      #expect(await gitlab.injectedFaults == [InjectedFault(endpoint: .requestJob, fault: .dropConnection)])
      #expect(try await runner.requestJob().status == 204)
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func injectedStatusChangesNoStateAndIsNoViolation() async throws {
    try await withGitLab { gitlab, runner in
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      _ = try await runner.requestJob()
      await gitlab.failNext(.patchTrace, with: .status(503), times: 2)
      #expect(try await runner.patchTrace(job.id, token: job.token, offset: 0, "line\n").status == 503)
      #expect(try await runner.patchTrace(job.id, token: job.token, offset: 0, "line\n").status == 503)
      #expect(await gitlab.trace(of: job.id).isEmpty)
      #expect(try await runner.patchTrace(job.id, token: job.token, offset: 0, "line\n").status == 202)
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func replyLostAfterProcessingLetsTheRunnerResyncWithoutViolation() async throws {
    try await withGitLab { gitlab, runner async throws in
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      _ = try await runner.requestJob()
      await gitlab.failNext(.patchTrace, with: .dropConnectionAfterProcessing)
      #expect(try await runner.patchTrace(job.id, token: job.token, offset: 0, "line\n").exitCode == 52)
      #expect(await gitlab.traceText(of: job.id) == "line\n")
      let resent = try await runner.patchTrace(job.id, token: job.token, offset: 0, "line\n")
      #expect(resent.status == 416)
      #expect(resent.header("Range") == "0-5")
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func retryAfterIsSentWithTheInjectedStatus() async throws {
    try await withGitLab { gitlab, runner in
      await gitlab.failNext(.requestJob, with: .retryAfter(status: 429, seconds: 3))
      let reply = try await runner.requestJob()
      #expect(reply.status == 429)
      #expect(reply.header("Retry-After") == "3")
    }
  }

  @Test func seededPlanGivesTheSameFaultsForTheSameRequests() async throws {
    func outcomes() async throws -> [String] {
      let plan = FaultPlan(seed: 7, rate: 0.5, endpoints: [.verifyRunner])
      return try await withGitLab(.init(longPollTimeout: .milliseconds(300), faults: plan)) {
        gitlab, runner in
        var seen: [String] = []
        for _ in 0..<16 {
          let reply = try await Curl.send(
            "POST", "\(runner.api)/runners/verify",
            body: Curl.json(["token": runner.token, "system_id": runner.systemID]))
          seen.append("\(reply.exitCode)/\(reply.status)")
        }
        #expect(await gitlab.violations.isEmpty)
        #expect(await gitlab.injectedFaults.count == seen.filter { $0 != "0/200" }.count)
        return seen
      }
    }
    let first = try await outcomes()
    #expect(first.contains { $0 != "0/200" })
    #expect(first.contains("0/200"))
    #expect(try await outcomes() == first)
  }

  @Test func faultsStayOnTheirEndpoints() async throws {
    let plan = FaultPlan(seed: 1, rate: 1, faults: [.status(502)], endpoints: [.patchTrace])
    try await withGitLab(.init(longPollTimeout: .milliseconds(300), faults: plan)) {
      gitlab, runner async throws in
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      #expect(try await runner.requestJob().status == 201)
      #expect(try await runner.patchTrace(job.id, token: job.token, offset: 0, "x").status == 502)
      await gitlab.setFaults(.none)
      #expect(try await runner.patchTrace(job.id, token: job.token, offset: 0, "x").status == 202)
    }
  }
}

@Suite("FakeGitLab: runner registration")
struct FakeGitLabRegistrationTests {
  @Test func registrationTokenCreatesARunnerThatCanBeVerifiedAndRemoved() async throws {
    try await withGitLab { gitlab, runner in
      await gitlab.addRegistrationToken("GR1348941registration")
      let api = runner.api
      let refused = try await Curl.send("POST", "\(api)/runners", body: Curl.json(["token": "wrong"]))
      #expect(refused.status == 403)
      let created = try await Curl.send(
        "POST", "\(api)/runners", body: Curl.json(["token": "GR1348941registration", "description": "lava"]))
      #expect(created.status == 201)
      let token = try #require(created.json?["token"] as? String)
      #expect(created.json?["id"] is NSNumber)
      #expect(created.json?.keys.contains("token_expires_at") == true)

      let verify = try await Curl.send("POST", "\(api)/runners/verify", body: Curl.json(["token": token]))
      #expect(verify.status == 200)
      let removed = try await Curl.send("DELETE", "\(api)/runners", body: Curl.json(["token": token]))
      #expect(removed.status == 204)
      #expect(
        try await Curl.send("POST", "\(api)/runners/verify", body: Curl.json(["token": token])).status == 403)

      var gone = runner
      gone.token = token
      #expect(try await gone.requestJob().status == 403)
      #expect(await gitlab.violations.isEmpty)
    }
  }

  @Test func runnerRemovedByAnAdminIsForbidden() async throws {
    try await withGitLab { gitlab, runner async throws in
      #expect(try await runner.requestJob().status == 204)
      await gitlab.removeRunner(token: runner.token)
      #expect(try await runner.requestJob().status == 403)
    }
  }

  @Test func pausedRunnerGetsNoJob() async throws {
    try await withGitLab { gitlab, runner in
      let job = await gitlab.enqueue(FakeJob(script: ["true"]))
      await gitlab.setPaused(true, runnerToken: runner.token)
      let paused = try await runner.requestJob()
      #expect(paused.status == 204)
      #expect(paused.header("X-GitLab-Last-Update") != nil)
      await gitlab.setPaused(false, runnerToken: runner.token)
      #expect(try await runner.requestJob().jobID == job.id)
    }
  }

  @Test func everyJobRequestReplyCarriesLastUpdate() async throws {
    try await withGitLab { gitlab, runner in
      let reply = try await Curl.send("POST", "\(runner.api)/jobs/request", body: Curl.json(["info": [:]]))
      #expect(reply.status == 400)
      #expect(reply.header("X-GitLab-Last-Update") != nil)
      #expect(await gitlab.violations.count == 1)
    }
  }

  @Test func runnerManagerIsForgottenButTheTokenStaysValid() async throws {
    try await withGitLab { gitlab, runner in
      _ = try await runner.requestJob()
      let body = Curl.json(["token": runner.token, "system_id": runner.systemID])
      #expect(try await Curl.send("DELETE", "\(runner.api)/runners/managers", body: body).status == 204)
      #expect(try await Curl.send("DELETE", "\(runner.api)/runners/managers", body: body).status == 404)
      #expect(try await runner.requestJob().status == 204)
      #expect(await gitlab.violations.isEmpty)
    }
  }
}
