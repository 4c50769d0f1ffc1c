import ArgumentParser
import Foundation
import GitLabAPI
import RunnerCore

/// `lava-runner register URL --registration-token T | --token glrt-…`: the legacy registration,
/// or a check of a runner created in GitLab.
struct RegisterSubcommand: AsyncParsableCommand, DeclaresSettings {
  static let configuration = CommandConfiguration(
    commandName: "register",
    abstract: "Register a runner with a registration token (deprecated), or check a glrt- token.",
    discussion: """
      Registration tokens are deprecated since GitLab 15.6 and disabled by default since \
      GitLab 17.0 (an administrator can still allow them). The current workflow: create the \
      runner in GitLab (Settings > CI/CD > Runners > New runner, where its tags and other \
      settings are chosen), copy its glrt- token, check it with `lava-runner verify`, and start \
      `lava-runner run` with it. Such a runner needs no registration; given to this command \
      (--token, or --registration-token) a glrt- token is only verified.

      With a registration token, GitLab creates the runner and this command prints, on standard \
      output and only this once, two lines to keep as the runner's settings:
        GITLAB_URL=…
        GITLAB_TOKEN=…
      Store GITLAB_TOKEN as a secret (e.g. `(umask 077; lava-runner register … > runner.env)`); \
      lava-runner keeps no copy and never prints it anywhere else. Everything else goes to \
      standard error. Prefer the environment for tokens: arguments are visible in the process list.

      Exit status: 0 done; 1 GitLab refused (token or setting); 2 no usable answer from GitLab \
      (a registration is not retried: a lost reply may still have created the runner).
      """
  )

  static let settings = GitLabInstanceOptions.settings + RegisterOptions.settings

  @OptionGroup var instance: GitLabInstanceOptions

  @OptionGroup var options: RegisterOptions

  var tls: TLSOptions { instance.tls }

  func run() async throws {
    let environment = ProcessInfo.processInfo.environment
    let settings: RegisterSettings
    do {
      settings = try RegisterSettings(url: instance.url, options: options, environment: environment)
    } catch {
      throw CLIError(error)
    }
    switch settings.mode {
    case .verify(let token):
      try await verifyCreatedRunner(settings, token: token, environment: environment)
    case .register(let registrationToken, let registration):
      try await register(settings, registrationToken, registration, environment: environment)
    }
  }

  private func verifyCreatedRunner(
    _ settings: RegisterSettings, token: String, environment: [String: String]
  ) async throws {
    if !settings.ignoredServerSettings.isEmpty {
      RegistrationExit.printError(
        "warning: ignored \(settings.ignoredServerSettings.joined(separator: ", ")): a runner created "
          + "in GitLab has these settings on its page in GitLab (Settings > CI/CD > Runners), not here.")
    }
    let session = try RegistrationSession(
      url: settings.url, token: token, tls: tls, environment: environment)
    let verified: VerifiedRunner
    do {
      verified = try await session.finishing { client throws(RunnerRegistrationError) in
        try await client.verifyRunner()
      }
    } catch {
      throw RegistrationExit.fail(error)
    }
    print(VerifySubcommand.validMessage(verified, url: settings.url, token: token))
    print(
      """
      Runners created in GitLab's UI or API need no registration: there is nothing to record, \
      lava-runner keeps no configuration file. Start the runner with the same token:
        GITLAB_URL=\(settings.url.absoluteString) GITLAB_TOKEN=<the runner token> lava-runner run
      """)
  }

  private func register(
    _ settings: RegisterSettings, _ registrationToken: String, _ registration: RunnerRegistration,
    environment: [String: String]
  ) async throws {
    RegistrationExit.printError(
      "warning: registration tokens are deprecated since GitLab 15.6 and disabled by default since "
        + "GitLab 17.0; prefer creating the runner in GitLab and using its glrt- token (see `lava-runner "
        + "register --help`).")
    let session = try RegistrationSession(
      url: settings.url, token: registrationToken, tls: tls, environment: environment)
    let runner: RegisteredRunner
    do {
      runner = try await session.finishing { client throws(RunnerRegistrationError) in
        try await client.registerRunner(registration, registrationToken: registrationToken)
      }
    } catch {
      throw RegistrationExit.fail(error)
    }
    // The one place a token is printed, by design: GitLab shows it to nobody else.
    print("GITLAB_URL=\(settings.url.absoluteString)")
    print("GITLAB_TOKEN=\(runner.token)")
    let expiry = runner.tokenExpiresAt.map { " It expires \($0)." } ?? ""
    RegistrationExit.printError(
      """
      Registered runner \(runner.id) with GitLab at \(settings.url.absoluteString) \
      (\(Self.summary(registration))).
      Its token is on standard output, shown this once only: store it as a secret now.\(expiry)
      Start the runner with both variables set: lava-runner run
      """)
  }

  static func summary(_ registration: RunnerRegistration) -> String {
    var parts: [String] = []
    if let description = registration.description { parts.append("description \"\(description)\"") }
    parts.append(registration.tags.isEmpty ? "no tags" : "tags \(registration.tags.joined(separator: ","))")
    parts.append(registration.runUntagged ? "runs untagged jobs" : "only tagged jobs")
    parts.append(registration.locked ? "locked to its project" : "not locked")
    if registration.paused { parts.append("paused") }
    return parts.joined(separator: ", ")
  }
}

/// The options of `register`; environment variables as the official runner names them.
struct RegisterOptions: ParsableArguments {
  static let settings: [CLISetting] = [
    .registrationToken, .createdRunnerToken, .description, .tagList, .runUntagged, .locked, .paused,
    .maintenanceNote, .accessLevel, .maximumTimeout,
  ]

  @Option(help: CLISetting.registrationToken.help)
  var registrationToken: String?

  @Option(help: CLISetting.createdRunnerToken.help)
  var token: String?

  @Option(help: CLISetting.description.help)
  var description: String?

  @Option(help: CLISetting.tagList.help)
  var tagList: String?

  @Flag(help: CLISetting.runUntagged.help)
  var runUntagged = false

  @Flag(inversion: .prefixedNo, help: CLISetting.locked.help)
  var locked: Bool?

  @Flag(help: CLISetting.paused.help)
  var paused = false

  @Option(help: CLISetting.maintenanceNote.help)
  var maintenanceNote: String?

  @Option(help: CLISetting.accessLevel.help)
  var accessLevel: String?

  @Option(help: CLISetting.maximumTimeout.help)
  var maximumTimeout: Int?
}
