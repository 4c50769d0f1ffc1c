import ArgumentParser
import Foundation
import GitLabAPI
import RunnerCore

/// `lava-runner verify [URL] [TOKEN]`: asks GitLab whether it accepts the runner token.
struct VerifySubcommand: AsyncParsableCommand {
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

  @Argument(help: "The GitLab instance, e.g. https://gitlab.example.com (env: GITLAB_URL).")
  var url: String?

  @Argument(help: "The runner authentication token, glrt-… (env: GITLAB_TOKEN).")
  var token: String?

  @OptionGroup var tls: GitLabTLSOptions

  func run() async throws {
    let (connection, session) = try RegistrationSession.open(
      url: url, token: token, tls: tls, environment: ProcessInfo.processInfo.environment)
    defer { session.shutdown() }
    let verified: VerifiedRunner
    do {
      verified = try await retryingTransient(
        onRetry: { error, delay in
          RegistrationExit.printError("warning: trying again in \(delay.roundedSeconds) s after: \(error)")
        },
        { () async throws(RunnerRegistrationError) in try await session.client.verifyRunner() })
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
