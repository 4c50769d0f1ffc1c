import Foundation
import TestSupport
import Testing

/// One run of the built `lava-runner` to its end, with stdout and stderr kept apart.
struct FinishedRun {
  var status: Int32
  var stdout: String
  var stderr: String

  var output: String { stdout + stderr }

  static func run(_ arguments: [String], environment: [String: String] = [:]) async throws -> FinishedRun {
    let process = Process()
    process.executableURL = BuiltRunner.url
    process.arguments = arguments
    var env = ["PATH": "/usr/bin:/bin", "HOME": NSTemporaryDirectory()]
    env.merge(environment) { $1 }
    process.environment = env
    let directory = FileManager.default.temporaryDirectory
    let out = directory.appendingPathComponent("lava-runner-\(UUID()).out")
    let err = directory.appendingPathComponent("lava-runner-\(UUID()).err")
    defer {
      try? FileManager.default.removeItem(at: out)
      try? FileManager.default.removeItem(at: err)
    }
    for file in [out, err] { _ = FileManager.default.createFile(atPath: file.path, contents: nil) }
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(60)
    while process.isRunning && clock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return FinishedRun(
      status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
      stderr: try String(contentsOf: err, encoding: .utf8))
  }
}

/// `register`, `verify` and `unregister` as a user runs them, against the strict fake GitLab.
@Suite(.serialized) struct RegistrationProcessTests {
  static let registrationToken = "GR1348941process-registration"
  static let createdToken = "glrt-process-created-token-0123"

  @Test func legacyRegisterPrintsTheNewTokenOnceOnStdoutAndNowhereElse() async throws {
    try await FakeGitLab.withRunning { gitlab in
      await gitlab.addRegistrationToken(Self.registrationToken)
      let url = await gitlab.url.absoluteString
      let run = try await FinishedRun.run(
        ["register", url, "--tag-list", "lava,rpi4", "--description", "rack 1"],
        environment: ["REGISTRATION_TOKEN": Self.registrationToken])
      #expect(run.status == 0, "stderr: \(run.stderr)")
      let runner = try #require(await gitlab.registeredRunners.first)
      #expect(run.stdout == "GITLAB_URL=\(url)\nGITLAB_TOKEN=\(runner.token)\n")
      #expect(!run.stderr.contains(runner.token))
      #expect(!run.output.contains(Self.registrationToken))
      #expect(run.stderr.contains("deprecated since GitLab 15.6"))
      #expect(run.stderr.contains("Registered runner \(runner.id)"))
      #expect(run.stderr.contains("store it as a secret"))
      #expect(runner.registration?.tagList == ["lava", "rpi4"])
      #expect(runner.registration?.description == "rack 1")
      #expect(runner.registration?.runUntagged == false)
      #expect(runner.registration?.locked == true)
      #expect(await gitlab.violations == [])
    }
  }

  @Test func legacyRegisterWithAWrongTokenExits1AndCreatesNothing() async throws {
    try await FakeGitLab.withRunning { gitlab in
      await gitlab.addRegistrationToken(Self.registrationToken)
      let wrong = "GR1348941wrong-one"
      let run = try await FinishedRun.run(
        ["register", await gitlab.url.absoluteString, "--registration-token", wrong, "--tag-list", "lava"])
      #expect(run.status == 1)
      #expect(run.stdout.isEmpty)
      #expect(run.stderr.contains("refused the registration token (403)"))
      #expect(!run.output.contains(wrong))
      #expect(await gitlab.registeredRunners.isEmpty)
    }
  }

  @Test func legacyRegisterWhereGitLabTurnedTokensOffExplainsTheNewWorkflow() async throws {
    try await FakeGitLab.withRunning { gitlab in
      await gitlab.addRegistrationToken(Self.registrationToken)
      await gitlab.setRegistrationTokensAllowed(false)
      let run = try await FinishedRun.run(
        ["register", await gitlab.url.absoluteString, "--run-untagged"],
        environment: ["REGISTRATION_TOKEN": Self.registrationToken])
      #expect(run.status == 1)
      #expect(run.stderr.contains("410 Gone"))
      #expect(run.stderr.contains("lava-runner verify"))
      #expect(!run.output.contains(Self.registrationToken))
    }
  }

  @Test func registerWithAGlrtTokenOnlyVerifiesItAndSaysHowToRun() async throws {
    try await FakeGitLab.withRunning { gitlab in
      await gitlab.addRunnerToken(Self.createdToken)
      let run = try await FinishedRun.run(
        ["register", await gitlab.url.absoluteString, "--tag-list", "ignored"],
        environment: ["GITLAB_TOKEN": Self.createdToken])
      #expect(run.status == 0, "stderr: \(run.stderr)")
      #expect(run.stdout.contains("valid"))
      #expect(run.stdout.contains("need no registration"))
      #expect(run.stdout.contains("lava-runner run"))
      #expect(run.stderr.contains("ignored --tag-list"))
      #expect(!run.output.contains(Self.createdToken))
      #expect(await gitlab.registeredRunners.count == 1)
      #expect(await gitlab.requests.map(\.path) == ["/api/v4/runners/verify"])
    }
  }

  @Test func verifyExits0ForAValidTokenAnd1ForARejectedOneWithoutPrintingIt() async throws {
    try await FakeGitLab.withRunning { gitlab in
      await gitlab.addRunnerToken(Self.createdToken)
      let url = await gitlab.url.absoluteString
      let valid = try await FinishedRun.run(["verify", url, Self.createdToken])
      #expect(valid.status == 0, "stderr: \(valid.stderr)")
      #expect(valid.stdout.hasPrefix("valid: "))
      #expect(!valid.output.contains(Self.createdToken))

      let rejected = try await FinishedRun.run(
        ["verify"], environment: ["GITLAB_URL": url, "GITLAB_TOKEN": "glrt-not-known-here-0000"])
      #expect(rejected.status == 1)
      #expect(rejected.stdout.isEmpty)
      #expect(rejected.stderr.contains("refused the runner token (403)"))
      #expect(!rejected.output.contains("glrt-not-known-here-0000"))
      #expect(await gitlab.violations == [])
    }
  }

  @Test func verifyExits2WhenGitLabCannotBeReached() async throws {
    let run = try await FinishedRun.run(["verify", "http://127.0.0.1:1", Self.createdToken])
    #expect(run.status == 2)
    #expect(run.stderr.contains("trying again"))
    #expect(!run.output.contains(Self.createdToken))
  }

  @Test func unregisterOfAGlrtRunnerRemovesThisHostButKeepsTheRunner() async throws {
    try await FakeGitLab.withRunning { gitlab in
      await gitlab.addRunnerToken(Self.createdToken)
      let environment = ["GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": Self.createdToken]
      #expect(try await FinishedRun.run(["verify"], environment: environment).status == 0)
      #expect(await gitlab.registeredRunners.first?.systemIDs.count == 1)

      let run = try await FinishedRun.run(["unregister"], environment: environment)
      #expect(run.status == 0, "stderr: \(run.stderr)")
      #expect(run.stdout.contains("Unregistered"))
      #expect(run.stdout.contains("system id s_"))
      #expect(!run.output.contains(Self.createdToken))
      let runner = try #require(await gitlab.registeredRunners.first)
      #expect(runner.systemIDs.isEmpty)

      let again = try await FinishedRun.run(["unregister"], environment: environment)
      #expect(again.status == 1)
      #expect(again.stderr.contains("Nothing was removed"))
      #expect(await gitlab.violations == [])
    }
  }

  @Test func unregisterOfALegacyRunnerDeletesIt() async throws {
    try await FakeGitLab.withRunning { gitlab in
      await gitlab.addRegistrationToken(Self.registrationToken)
      let url = await gitlab.url.absoluteString
      let registered = try await FinishedRun.run(
        ["register", url, "--registration-token", Self.registrationToken, "--run-untagged"])
      #expect(registered.status == 0, "stderr: \(registered.stderr)")
      let token = try #require(await gitlab.registeredRunners.first?.token)

      let run = try await FinishedRun.run(["unregister", url, token])
      #expect(run.status == 0, "stderr: \(run.stderr)")
      #expect(run.stdout.contains("deleted"))
      #expect(!run.output.contains(token))
      #expect(await gitlab.registeredRunners.isEmpty)

      let verify = try await FinishedRun.run(["verify", url, token])
      #expect(verify.status == 1)
      #expect(await gitlab.violations == [])
    }
  }

  @Test func theRegistrationHelpNamesEveryEnvironmentVariableAndTheDeprecation() async throws {
    let register = try await FinishedRun.run(["register", "--help"])
    for variable in [
      "GITLAB_URL", "GITLAB_TOKEN", "REGISTRATION_TOKEN", "RUNNER_DESCRIPTION", "RUNNER_TAG_LIST",
      "REGISTER_RUN_UNTAGGED", "REGISTER_LOCKED", "REGISTER_PAUSED", "REGISTER_MAINTENANCE_NOTE",
      "REGISTER_ACCESS_LEVEL", "REGISTER_MAXIMUM_TIMEOUT", "RUNNER_TLS_CA_FILE",
    ] {
      #expect(register.stdout.contains(variable), "register --help does not mention \(variable)")
    }
    #expect(register.stdout.contains("deprecated since GitLab 15.6"))
    #expect(register.stdout.contains("17.0"))
    for command in ["verify", "unregister"] {
      let help = try await FinishedRun.run([command, "--help"])
      #expect(help.stdout.contains("GITLAB_URL") && help.stdout.contains("GITLAB_TOKEN"), "\(command) --help")
    }
  }
}
