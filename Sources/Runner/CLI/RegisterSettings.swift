import Foundation
import GitLabAPI
import RunnerCore

/// The validated settings of `register`: options first, then the environment, then defaults
/// (all as `CLISetting` declares them).
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

  init(url rawURL: String?, options: RegisterOptions, environment values: [String: String])
    throws(SettingsError)
  {
    let env = SettingsEnvironment(values)
    if options.registrationToken != nil, options.token != nil {
      throw .invalid(
        "token", "…", expected: "either --registration-token or --token, not both")
    }
    // An option of either kind wins over both variables.
    let registrationToken = CLISetting.registrationToken
    let createdToken = CLISetting.createdRunnerToken
    let token: String
    let isRegistrationToken: Bool
    if options.token == nil, let value = registrationToken.resolveGiven(options.registrationToken, in: env) {
      (token, isRegistrationToken) = (value, true)
    } else if let value = createdToken.resolveGiven(options.token, in: env) {
      (token, isRegistrationToken) = (value, false)
    } else {
      let variables = (createdToken.environment + registrationToken.environment).joined(separator: " or ")
      throw .missing("token (--token glrt-… or --registration-token)", environment: variables)
    }
    // Validates the URL and the token's characters the way `run` does.
    url = try GitLabConnectionSettings(url: rawURL, token: token, environment: values).url

    var registration = RunnerRegistration()
    var given: [String] = []
    func note(_ setting: CLISetting) { given.append("--" + setting.name) }
    registration.description = CLISetting.description.resolve(options.description, in: env)
    if CLISetting.description.resolveGiven(options.description, in: env) != nil { note(.description) }
    if let list = CLISetting.tagList.resolveGiven(options.tagList, in: env) {
      registration.tags = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        .filter { !$0.isEmpty }
      note(.tagList)
    }
    if try CLISetting.runUntagged.resolveFlag(options.runUntagged ? true : nil, in: env) == true {
      registration.runUntagged = true
      note(.runUntagged)
    }
    if let locked = try CLISetting.locked.resolveFlag(options.locked, in: env, includingDefault: false) {
      registration.locked = locked
      given.append(locked ? "--locked" : "--no-locked")
    }
    if try CLISetting.paused.resolveFlag(options.paused ? true : nil, in: env) == true {
      registration.paused = true
      note(.paused)
    }
    if let note = CLISetting.maintenanceNote.resolveGiven(options.maintenanceNote, in: env) {
      guard note.count <= 1024 else {
        throw .invalid("maintenance-note", "\(note.prefix(20))…", expected: "at most 1024 characters")
      }
      registration.maintenanceNote = note
      given.append("--maintenance-note")
    }
    if let level = try CLISetting.accessLevel.resolve(
      options.accessLevel, in: env, expected: "not_protected or ref_protected",
      RunnerRegistration.AccessLevel.init(rawValue:))
    {
      registration.accessLevel = level
      note(.accessLevel)
    }
    if let seconds = try CLISetting.maximumTimeout.resolve(
      options.maximumTimeout.map(String.init), in: env, expected: "seconds, 600 or more (GitLab's minimum)",
      { Int($0).flatMap { $0 >= 600 ? $0 : nil } })
    {
      registration.maximumTimeout = seconds
      note(.maximumTimeout)
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
