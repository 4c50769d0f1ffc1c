import Foundation
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// How `register` reads its flags and environment, before any request.
@Suite struct RegisterSettingsTests {
  static let url = "https://gitlab.example.com"

  static func settings(_ arguments: [String], environment: [String: String] = [:]) throws -> RegisterSettings
  {
    try RegisterSettings(url: url, options: RegisterOptions.parse(arguments), environment: environment)
  }

  static func settingsError(_ arguments: [String], environment: [String: String] = [:]) -> SettingsError? {
    do {
      _ = try settings(arguments, environment: environment)
      return nil
    } catch let error as SettingsError {
      return error
    } catch {
      Issue.record("unexpected error \(error)")
      return nil
    }
  }

  @Test func aRegistrationTokenRegistersWithLockedTaggedOnlyDefaults() throws {
    let settings = try Self.settings(["--registration-token", "GR1348941abc", "--tag-list", " lava, imx8 ,,"])
    guard case .register(let token, let registration) = settings.mode else {
      Issue.record("expected a registration, got \(settings.mode)")
      return
    }
    #expect(token == "GR1348941abc")
    #expect(registration.tags == ["lava", "imx8"])
    #expect(registration.runUntagged == false)
    #expect(registration.locked == true)
    #expect(registration.paused == false)
    #expect(settings.url.absoluteString == Self.url)
  }

  @Test func theEnvironmentFillsWhatTheFlagsLeaveOut() throws {
    let settings = try Self.settings(
      ["--description", "from flag"],
      environment: [
        "REGISTRATION_TOKEN": "GR1348941env", "RUNNER_TAG_LIST": "a,b", "REGISTER_LOCKED": "false",
        "REGISTER_PAUSED": "true", "REGISTER_ACCESS_LEVEL": "ref_protected",
        "REGISTER_MAXIMUM_TIMEOUT": "3600",
        "REGISTER_MAINTENANCE_NOTE": "note", "RUNNER_DESCRIPTION": "from env",
      ])
    guard case .register(let token, let registration) = settings.mode else {
      Issue.record("expected a registration, got \(settings.mode)")
      return
    }
    #expect(token == "GR1348941env")
    #expect(registration.description == "from flag")
    #expect(registration.tags == ["a", "b"])
    #expect(registration.locked == false)
    #expect(registration.paused == true)
    #expect(registration.accessLevel == .refProtected)
    #expect(registration.maximumTimeout == 3600)
    #expect(registration.maintenanceNote == "note")
  }

  @Test func aFlagWinsOverItsEnvironmentVariable() throws {
    let settings = try Self.settings(
      ["--registration-token", "GR1348941flag", "--locked", "--tag-list", "x"],
      environment: ["REGISTRATION_TOKEN": "GR1348941env", "REGISTER_LOCKED": "false", "RUNNER_TAG_LIST": "y"])
    guard case .register(let token, let registration) = settings.mode else {
      Issue.record("expected a registration, got \(settings.mode)")
      return
    }
    #expect(token == "GR1348941flag")
    #expect(registration.locked == true)
    #expect(registration.tags == ["x"])
  }

  @Test func aGlrtTokenIsOnlyVerifiedEvenAsARegistrationToken() throws {
    for arguments in [["--token", "glrt-abc"], ["--registration-token", "glrt-abc"]] {
      let settings = try Self.settings(arguments + ["--tag-list", "lava", "--paused"])
      #expect(settings.mode == .verify(token: "glrt-abc"))
      #expect(settings.ignoredServerSettings == ["--tag-list", "--paused"])
    }
  }

  @Test func theRunnerTokenFromTheEnvironmentIsVerified() throws {
    let settings = try Self.settings([], environment: ["GITLAB_TOKEN": "glrt-from-env"])
    #expect(settings.mode == .verify(token: "glrt-from-env"))
    #expect(settings.ignoredServerSettings == [])
  }

  @Test func aRegistrationWithoutTagsOrRunUntaggedIsRefusedBeforeAnyRequest() throws {
    let error = Self.settingsError(["--registration-token", "GR1348941abc"])
    #expect(error?.description.contains("--run-untagged") == true)
    let untagged = try Self.settings(["--registration-token", "GR1348941abc", "--run-untagged"])
    guard case .register(_, let registration) = untagged.mode else {
      Issue.record("expected a registration")
      return
    }
    #expect(registration.runUntagged)
  }

  @Test func unusableValuesAreRefusedWithWhatIsExpected() {
    let base = ["--registration-token", "GR1348941abc", "--tag-list", "lava"]
    #expect(
      Self.settingsError(base + ["--maximum-timeout", "60"])
        == .invalid("maximum-timeout", "60", expected: "seconds, 600 or more (GitLab's minimum)"))
    #expect(
      Self.settingsError(base + ["--access-level", "protected"])
        == .invalid("access-level", "protected", expected: "not_protected or ref_protected"))
    #expect(
      Self.settingsError(base, environment: ["REGISTER_LOCKED": "maybe"])
        == .invalid("locked", "maybe", expected: "true or false (from REGISTER_LOCKED)"))
    #expect(Self.settingsError(base + ["--maintenance-note", String(repeating: "n", count: 1025)]) != nil)
    #expect(Self.settingsError(["--registration-token", "a", "--token", "glrt-b"]) != nil)
  }

  @Test func noTokenAtAllNamesBothWaysToGiveOne() {
    let error = Self.settingsError(["--tag-list", "lava"])
    let message = error?.description ?? ""
    #expect(message.contains("--registration-token"))
    #expect(message.contains("GITLAB_TOKEN"))
    #expect(message.contains("REGISTRATION_TOKEN"))
  }
}
