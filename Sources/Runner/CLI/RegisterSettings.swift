import Foundation
import GitLabAPI
import RunnerCore

/// The validated settings of `register`: flags first, then the environment, then defaults.
struct RegisterSettings: Sendable {
  enum Mode: Sendable, Equatable {
    /// A runner authentication token: only verified.
    case verify(token: String)
    /// A registration token: GitLab creates a runner with these settings.
    case register(registrationToken: String, RunnerRegistration)
  }

  var url: URL
  var mode: Mode
  /// Runner settings given although the token is verified, not registered (they are GitLab's).
  var ignoredServerSettings: [String]

  init(url rawURL: String?, options: RegisterOptions, environment: [String: String]) throws(SettingsError) {
    let env = SettingsEnvironment(environment)
    if options.registrationToken != nil, options.token != nil {
      throw .invalid(
        "token", "…", expected: "either --registration-token or --token, not both")
    }
    let token: String
    let isRegistrationToken: Bool
    if let value = options.registrationToken {
      (token, isRegistrationToken) = (value, true)
    } else if let value = options.token {
      (token, isRegistrationToken) = (value, false)
    } else if let value = env["REGISTRATION_TOKEN"] {
      (token, isRegistrationToken) = (value, true)
    } else if let value = env["GITLAB_TOKEN"] {
      (token, isRegistrationToken) = (value, false)
    } else {
      throw .missing(
        "token (--token glrt-… or --registration-token)", environment: "GITLAB_TOKEN or REGISTRATION_TOKEN")
    }
    // Validates the URL and the token's characters the way `run` does.
    url = try GitLabConnectionSettings(url: rawURL, token: token, environment: environment).url

    var registration = RunnerRegistration()
    var given: [String] = []
    if let description = options.description ?? env["RUNNER_DESCRIPTION"] {
      registration.description = description
      given.append("--description")
    } else {
      registration.description = env["RUNNER_NAME"] ?? ProcessInfo.processInfo.hostName
    }
    if let list = options.tagList ?? env["RUNNER_TAG_LIST"] {
      registration.tags = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
      given.append("--tag-list")
    }
    let untaggedFromEnvironment = try env.bool("REGISTER_RUN_UNTAGGED", option: "run-untagged")
    if options.runUntagged || untaggedFromEnvironment == true {
      registration.runUntagged = true
      given.append("--run-untagged")
    }
    let lockedFromEnvironment = try env.bool("REGISTER_LOCKED", option: "locked")
    if let locked = options.locked ?? lockedFromEnvironment {
      registration.locked = locked
      given.append(locked ? "--locked" : "--no-locked")
    }
    let pausedFromEnvironment = try env.bool("REGISTER_PAUSED", option: "paused")
    if options.paused || pausedFromEnvironment == true {
      registration.paused = true
      given.append("--paused")
    }
    if let note = options.maintenanceNote ?? env["REGISTER_MAINTENANCE_NOTE"] {
      guard note.count <= 1024 else {
        throw .invalid("maintenance-note", "\(note.prefix(20))…", expected: "at most 1024 characters")
      }
      registration.maintenanceNote = note
      given.append("--maintenance-note")
    }
    if let text = options.accessLevel ?? env["REGISTER_ACCESS_LEVEL"] {
      guard let level = RunnerRegistration.AccessLevel(rawValue: text) else {
        throw .invalid("access-level", text, expected: "not_protected or ref_protected")
      }
      registration.accessLevel = level
      given.append("--access-level")
    }
    if let text = options.maximumTimeout.map(String.init) ?? env["REGISTER_MAXIMUM_TIMEOUT"] {
      guard let seconds = Int(text), seconds >= 600 else {
        throw .invalid("maximum-timeout", text, expected: "seconds, 600 or more (GitLab's minimum)")
      }
      registration.maximumTimeout = seconds
      given.append("--maximum-timeout")
    }

    // The official runner treats a glrt- token given as a registration token the same way.
    if !isRegistrationToken || GitLabClient.isCreatedRunnerToken(token) {
      mode = .verify(token: token)
      ignoredServerSettings = given
      return
    }
    guard !registration.tags.isEmpty || registration.runUntagged else {
      throw .invalid(
        "tag-list", "(none)",
        expected:
          "tags (e.g. --tag-list lava) or --run-untagged: without either, GitLab gives the runner no job")
    }
    mode = .register(registrationToken: token, registration)
    ignoredServerSettings = []
  }
}
