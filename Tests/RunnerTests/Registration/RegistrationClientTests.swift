import Foundation
import RunnerCore
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// The registration calls of `GitLabClient` against the strict fake GitLab, in process.
@Suite struct RegistrationClientTests {
  static let registrationToken = "GR1348941registration-registration"
  static let createdToken = "glrt-registration-created-tok01"
  static let systemID = "s_00aa11bb22cc"

  /// Runs `body` with a started fake and an HTTP client whose token is `token`.
  static func withClient(
    token: String, _ body: (FakeGitLab, GitLabClient) async throws -> Void
  ) async throws {
    try await FakeGitLab.withRunning { gitlab in
      let http = try HTTPClient()
      defer { http.requestShutdown() }
      let masker = SecretMasker(secrets: [token, registrationToken])
      let client = GitLabClient(
        instance: await gitlab.url, http: http,
        identity: RunnerIdentity(name: "registration-test", systemID: systemID), runnerToken: token,
        mask: { masker.mask($0) })
      try await body(gitlab, client)
      #expect(await gitlab.violations == [])
    }
  }

  @Test func aLegacyRegistrationSendsDescriptionTagsAndTheLavaDefaults() async throws {
    try await Self.withClient(token: "") { gitlab, client in
      await gitlab.addRegistrationToken(Self.registrationToken)
      let registration = RunnerRegistration(description: "lab rack 3", tags: ["lava", "imx8mp"])
      let runner = try await client.registerRunner(registration, registrationToken: Self.registrationToken)
      let stored = try #require(await gitlab.registeredRunners.first { $0.id == runner.id })
      #expect(stored.token == runner.token)
      let record = try #require(stored.registration)
      #expect(record.description == "lab rack 3")
      #expect(record.tagList == ["lava", "imx8mp"])
      #expect(record.runUntagged == false)
      #expect(record.locked == true)
      #expect(record.paused == false)
      #expect(record.accessLevel == nil)
      #expect(record.maximumTimeout == nil)
      #expect(record.maintenanceNote == nil)
      #expect(record.infoName == "lava-runner")
      #expect(
        await gitlab.requests.map { "\($0.method) \($0.path) \($0.status)" } == ["POST /api/v4/runners 201"])
    }
  }

  @Test func everyRegistrationSettingReachesGitLab() async throws {
    try await Self.withClient(token: "") { gitlab, client in
      await gitlab.addRegistrationToken(Self.registrationToken)
      let registration = RunnerRegistration(
        description: "d", tags: [], runUntagged: true, locked: false, paused: true,
        accessLevel: .refProtected, maximumTimeout: 7200, maintenanceNote: "ask the board farm team")
      let runner = try await client.registerRunner(registration, registrationToken: Self.registrationToken)
      let record = try #require(await gitlab.registeredRunners.first { $0.id == runner.id }?.registration)
      #expect(record.tagList == [])
      #expect(record.runUntagged == true)
      #expect(record.locked == false)
      #expect(record.paused == true)
      #expect(record.accessLevel == "ref_protected")
      #expect(record.maximumTimeout == 7200)
      #expect(record.maintenanceNote == "ask the board farm team")
    }
  }

  @Test func aWrongRegistrationTokenIsA403WithAdviceAndNoToken() async throws {
    try await Self.withClient(token: "") { gitlab, client in
      await gitlab.addRegistrationToken(Self.registrationToken)
      let wrong = "GR1348941not-the-right-one"
      let error = await #expect(throws: RunnerRegistrationError.self) {
        _ = try await client.registerRunner(RunnerRegistration(tags: ["lava"]), registrationToken: wrong)
      }
      guard case .registrationTokenRejected = error else {
        Issue.record("expected registrationTokenRejected, got \(String(describing: error))")
        return
      }
      let message = String(describing: error!)
      #expect(message.contains("403"))
      #expect(message.contains("Settings > CI/CD > Runners"))
      #expect(!message.contains(wrong))
      #expect(await gitlab.registeredRunners.isEmpty)
    }
  }

  @Test func registrationTokensTurnedOffInGitLabAre410WithTheNewWorkflow() async throws {
    try await Self.withClient(token: "") { gitlab, client in
      await gitlab.addRegistrationToken(Self.registrationToken)
      await gitlab.setRegistrationTokensAllowed(false)
      let error = await #expect(throws: RunnerRegistrationError.self) {
        _ = try await client.registerRunner(
          RunnerRegistration(tags: ["lava"]), registrationToken: Self.registrationToken)
      }
      guard case .registrationTokensDisabled = error else {
        Issue.record("expected registrationTokensDisabled, got \(String(describing: error))")
        return
      }
      #expect(String(describing: error!).contains("glrt-"))
      #expect(String(describing: error!).contains("17.0"))
    }
  }

  @Test func gitLabsRefusalOfASettingIsQuotedInTheError() async throws {
    try await Self.withClient(token: "") { gitlab, client in
      await gitlab.addRegistrationToken(Self.registrationToken)
      let error = await #expect(throws: RunnerRegistrationError.self) {
        _ = try await client.registerRunner(
          RunnerRegistration(tags: ["lava"], maximumTimeout: 60), registrationToken: Self.registrationToken)
      }
      guard case .registrationRefused(let detail) = error else {
        Issue.record("expected registrationRefused, got \(String(describing: error))")
        return
      }
      #expect(detail == "maximum_timeout needs to be at least 10 minutes")
      #expect(await gitlab.registeredRunners.isEmpty)
    }
  }

  @Test func verifyingACreatedRunnerRecordsThisHostAsItsManager() async throws {
    try await Self.withClient(token: Self.createdToken) { gitlab, client in
      await gitlab.addRunnerToken(Self.createdToken)
      let verified = try await client.verifyRunner()
      let runner = try #require(await gitlab.registeredRunners.first)
      #expect(verified.id == runner.id)
      #expect(runner.systemIDs == [Self.systemID])
    }
  }

  @Test func verifyingAnUnknownTokenIsRejected() async throws {
    try await Self.withClient(token: "glrt-unknown-to-gitlab-xyz") { gitlab, client in
      let error = await #expect(throws: RunnerRegistrationError.self) { _ = try await client.verifyRunner() }
      guard case .runnerTokenRejected(let endpoint) = error else {
        Issue.record("expected runnerTokenRejected, got \(String(describing: error))")
        return
      }
      #expect(endpoint == "runners/verify")
      #expect(!String(describing: error!).contains("glrt-unknown-to-gitlab-xyz"))
    }
  }

  @Test func verifyIsRetriedWhileGitLabIsBusyButNotWhenItRefuses() async throws {
    try await Self.withClient(token: Self.createdToken) { gitlab, client in
      await gitlab.addRunnerToken(Self.createdToken)
      await gitlab.failNext(.verifyRunner, with: .status(503), times: 2)
      var retries = 0
      let verified = try await retryingTransient(
        backoff: .immediate, onRetry: { _, _ in retries += 1 },
        { () async throws(RunnerRegistrationError) in try await client.verifyRunner() })
      #expect(verified.id != nil)
      #expect(retries == 2)

      await gitlab.removeRunner(token: Self.createdToken)
      let before = await gitlab.requests.count
      await #expect(throws: RunnerRegistrationError.self) {
        _ = try await retryingTransient(
          backoff: .immediate, { () async throws(RunnerRegistrationError) in try await client.verifyRunner() }
        )
      }
      #expect(await gitlab.requests.count == before + 1)
    }
  }

  @Test func verifyGivesUpAfterThreeBusyAnswers() async throws {
    try await Self.withClient(token: Self.createdToken) { gitlab, client in
      await gitlab.addRunnerToken(Self.createdToken)
      await gitlab.failNext(.verifyRunner, with: .status(502), times: 5)
      let error = await #expect(throws: RunnerRegistrationError.self) {
        _ = try await retryingTransient(
          backoff: .immediate, { () async throws(RunnerRegistrationError) in try await client.verifyRunner() }
        )
      }
      #expect(error?.isTransient == true)
      #expect(await gitlab.injectedFaults.count == 3)
    }
  }

  @Test func unregisteringALegacyRunnerDeletesItAndKillsItsToken() async throws {
    try await FakeGitLab.withRunning { gitlab in
      await gitlab.addRegistrationToken(Self.registrationToken)
      let http = try HTTPClient()
      defer { http.requestShutdown() }
      func client(_ token: String) async -> GitLabClient {
        GitLabClient(
          instance: await gitlab.url, http: http,
          identity: RunnerIdentity(name: "t", systemID: Self.systemID), runnerToken: token, mask: { $0 })
      }
      let runner = try await client("").registerRunner(
        RunnerRegistration(tags: ["lava"]), registrationToken: Self.registrationToken)
      try await client(runner.token).deleteRunner()
      #expect(await gitlab.registeredRunners.isEmpty)
      let error = await #expect(throws: RunnerRegistrationError.self) {
        try await client(runner.token).deleteRunner()
      }
      guard case .runnerTokenRejected(let endpoint) = error else {
        Issue.record("expected runnerTokenRejected, got \(String(describing: error))")
        return
      }
      #expect(endpoint == "runners")
      #expect(await gitlab.violations == [])
    }
  }

  @Test func unregisteringACreatedRunnerRemovesOnlyThisHost() async throws {
    try await Self.withClient(token: Self.createdToken) { gitlab, client in
      await gitlab.addRunnerToken(Self.createdToken)
      _ = try await client.verifyRunner()
      try await client.deleteRunnerManager()
      let runner = try #require(await gitlab.registeredRunners.first)
      #expect(runner.token == Self.createdToken)
      #expect(runner.systemIDs.isEmpty)

      let error = await #expect(throws: RunnerRegistrationError.self) {
        try await client.deleteRunnerManager()
      }
      guard case .runnerManagerNotFound(let systemID) = error else {
        Issue.record("expected runnerManagerNotFound, got \(String(describing: error))")
        return
      }
      #expect(systemID == Self.systemID)
      #expect(await gitlab.requests.map(\.path).last == "/api/v4/runners/managers")
    }
  }
}
