import ArgumentParser
import Foundation
import GitLabAPI
import RunnerCore

/// `lava-runner verify [URL] [TOKEN]`: asks GitLab whether it accepts the runner token.
struct VerifySubcommand: AsyncParsableCommand, DeclaresSettings {
  static let configuration = CommandConfiguration(
    commandName: "verify",
    abstract: "Check that GitLab accepts the runner token (POST /api/v4/runners/verify).",
    discussion: """
      For a runner created in GitLab (glrt- token) this also records this host as one of the \
      runner's managers, as the official runner's verify does. The token is never printed.

      Exit status: 0 the token is valid; 1 GitLab refused it (wrong, expired, or the runner \
      was deleted); 2 no usable answer from GitLab (unreachable or busy, after 3 attempts).
      """
  )

  static let settings = GitLabOptions.settings

  @OptionGroup var options: GitLabOptions

  func run() async throws {
    let (connection, session) = try RegistrationSession.open(
      options, environment: ProcessInfo.processInfo.environment)
    let verified: VerifiedRunner
    do {
      verified = try await session.finishing { client throws(RunnerRegistrationError) in
        try await retryingTransient(
          onRetry: { error, delay in
            RegistrationExit.printError("warning: trying again in \(delay.roundedSeconds) s after: \(error)")
          },
          { () async throws(RunnerRegistrationError) in try await client.verifyRunner() })
      }
    } catch {
      throw RegistrationExit.fail(error)
    }
    print(Self.validMessage(verified, url: connection.url, token: connection.token))
  }

  static func validMessage(_ verified: VerifiedRunner, url: URL, token: String) -> String {
    var details: [String] = []
    if let id = verified.id { details.append("runner \(id)") }
    if let expiry = verified.tokenExpiresAt { details.append("token expires \(expiry)") }
    let suffix = details.isEmpty ? "" : " (\(details.joined(separator: ", ")))"
    let kind =
      GitLabClient.isCreatedRunnerToken(token) ? "runner authentication token" : "legacy runner token"
    return "valid: GitLab at \(url.absoluteString) accepts this \(kind)\(suffix)."
  }
}

extension Duration {
  /// Whole seconds, at least 1, for messages.
  var roundedSeconds: Int64 { max(1, components.seconds + (components.attoseconds > 0 ? 1 : 0)) }
}
