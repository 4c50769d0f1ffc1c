import ArgumentParser
import Foundation
import GitLabAPI
import RunnerCore

/// `lava-runner unregister [URL] [TOKEN]`, as the official runner's `unregister` does: for a
/// runner created in GitLab (`glrt-`) only this host is removed; a legacy runner is deleted.
struct UnregisterSubcommand: AsyncParsableCommand, DeclaresSettings {
  static let configuration = CommandConfiguration(
    commandName: "unregister",
    abstract: "Remove this host from the runner in GitLab, or delete a legacy-registered runner.",
    discussion: """
      With a glrt- token (a runner created in GitLab's UI or API), GitLab forgets this host \
      (DELETE /api/v4/runners/managers with its system id); the runner and its token stay, \
      for other hosts or a later start. Delete the runner itself in GitLab (Settings > CI/CD > \
      Runners) when no host uses it any more: like the official runner, lava-runner does not \
      delete runners it did not create.

      With a token of a runner registered by `lava-runner register` (a registration token), the \
      runner is deleted (DELETE /api/v4/runners) and its token stops working.

      The token is never printed. Not retried: run it again if GitLab could not be reached. \
      Exit status: 0 done; 1 GitLab refused (unknown token, or this host is not a manager of \
      the runner); 2 no usable answer from GitLab.
      """
  )

  static let settings = GitLabOptions.settings

  @OptionGroup var options: GitLabOptions

  func run() async throws {
    let (connection, session) = try RegistrationSession.open(
      options, environment: ProcessInfo.processInfo.environment)
    let client = session.client
    do {
      if GitLabClient.isCreatedRunnerToken(connection.token) {
        try await session.finishing { client throws(RunnerRegistrationError) in
          try await client.deleteRunnerManager()
        }
        print(
          """
          Unregistered: GitLab at \(connection.url.absoluteString) no longer lists this host \
          (system id \(client.identity.systemID)) among the runner's managers. The runner and its \
          token stay; delete the runner in GitLab (Settings > CI/CD > Runners) when no host uses it.
          """)
      } else {
        try await session.finishing { client throws(RunnerRegistrationError) in
          try await client.deleteRunner()
        }
        print(
          "Unregistered: the runner is deleted from GitLab at \(connection.url.absoluteString); "
            + "its token no longer works.")
      }
    } catch {
      throw RegistrationExit.fail(error)
    }
  }
}
