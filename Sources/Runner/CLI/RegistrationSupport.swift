import ArgumentParser
import Foundation
import GitLabAPI
import HTTP
import Protocols
import RunnerCore

/// How the registration commands end: 0 done, 1 GitLab refused (a token or a setting), 2 no usable
/// answer from GitLab (unreachable, busy, or a reply lava-runner cannot read).
enum RegistrationExit {
  static let refused: Int32 = 1
  static let noAnswer: Int32 = 2

  /// Prints `Error: …` on standard error and gives the exit code for `error`.
  static func fail(_ error: RunnerRegistrationError) -> ExitCode {
    printError("Error: \(error)")
    if case .gitlab = error { return ExitCode(noAnswer) }
    return ExitCode(refused)
  }

  static func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
  }
}

/// Runs `call`, again after GitLab was busy or unreachable, up to `attempts` times in all.
func retryingTransient<T: Sendable>(
  attempts: Int = 3, backoff: RetryPolicy = RetryPolicy(initial: .seconds(1), maximum: .seconds(10)),
  onRetry: (RunnerRegistrationError, Duration) -> Void = { _, _ in },
  _ call: () async throws(RunnerRegistrationError) -> T
) async throws(RunnerRegistrationError) -> T {
  var attempt = 1
  while true {
    do {
      return try await call()
    } catch {
      guard error.isTransient, attempt < attempts else { throw error }
      let delay = backoff.delay(attempt: attempt)
      onRetry(error, delay)
      do { try await Task.sleep(for: delay) } catch { throw .gitlab(.cancelled(endpoint: "retry")) }
      attempt += 1
    }
  }
}

/// The client for one registration command, with its HTTP client; its calls go through
/// `finishing(_:)`, which shuts the HTTP client down after them.
struct RegistrationSession {
  let client: GitLabClient
  let http: HTTPClient

  init(
    url: URL, token: String, tls: TLSOptions, environment: [String: String]
  ) throws(CLIError) {
    let configuration: HTTPClientConfiguration
    do {
      configuration = try tls.httpConfiguration(environment: environment)
    } catch {
      throw CLIError(error)
    }
    do {
      http = try HTTPClient(configuration: configuration)
    } catch {
      throw CLIError("cannot start the HTTP client: \(error)")
    }
    let masker = SecretMasker(secrets: [token])
    client = GitLabClient(
      instance: url, http: http,
      identity: RunnerIdentity(name: ProcessInfo.processInfo.hostName, systemID: RunnerIdentity.systemID()),
      runnerToken: token, mask: { masker.mask($0) })
  }

  /// Validates the URL and token (from the arguments or the environment) and opens a session
  /// for them: what `verify` and `unregister` both start with.
  static func open(
    _ options: GitLabOptions, environment: [String: String]
  ) throws(CLIError) -> (GitLabConnectionSettings, RegistrationSession) {
    let connection: GitLabConnectionSettings
    do {
      connection = try options.connection(environment: environment)
    } catch {
      throw CLIError(error)
    }
    let session = try RegistrationSession(
      url: connection.url, token: connection.token, tls: options.tls, environment: environment)
    return (connection, session)
  }

  /// Runs `call` with the client, then shuts the HTTP client down, whatever `call` did.
  func finishing<T>(
    _ call: (GitLabClient) async throws(RunnerRegistrationError) -> T
  ) async throws(RunnerRegistrationError) -> T {
    let result: Result<T, RunnerRegistrationError>
    do {
      result = .success(try await call(client))
    } catch {
      result = .failure(error)
    }
    await http.shutdown()
    return try result.get()
  }
}
