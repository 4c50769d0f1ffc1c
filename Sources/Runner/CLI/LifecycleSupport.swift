import ArgumentParser
import Foundation
import GitLabAPI
import HTTP
import JobEngine
import LAVA
import RunnerCore
import YAML

/// TLS options of `run` and the lifecycle commands, each with its environment variable.
struct GitLabTLSOptions: ParsableArguments {
  @Option(help: "PEM file of CAs to trust for GitLab and LAVA (env: RUNNER_TLS_CA_FILE, then SSL_CERT_FILE).")
  var tlsCaFile: String?

  @Option(help: "PEM client certificate for TLS client authentication (env: RUNNER_TLS_CERT_FILE).")
  var tlsCertFile: String?

  @Option(help: "PEM private key of the client certificate (env: RUNNER_TLS_KEY_FILE).")
  var tlsKeyFile: String?

  @Flag(
    help: """
      Do not verify TLS certificates: anyone in between can read the token. Only for test \
      setups (env: RUNNER_TLS_INSECURE_SKIP_VERIFY=true).
      """)
  var tlsInsecureSkipVerify = false

  func httpConfiguration(environment: [String: String]) throws(SettingsError) -> HTTPClientConfiguration {
    let env = LifecycleEnvironment(environment)
    var http = HTTPClientConfiguration()
    http.proxy = .environment(environment)
    if let ca = tlsCaFile ?? env["RUNNER_TLS_CA_FILE"] ?? env["SSL_CERT_FILE"] {
      guard FileManager.default.isReadableFile(atPath: ca) else {
        throw .invalid("tls-ca-file", ca, expected: "a readable PEM file")
      }
      http.tls.caBundle = URL(fileURLWithPath: ca)
    }
    if let cert = tlsCertFile ?? env["RUNNER_TLS_CERT_FILE"] {
      guard let key = tlsKeyFile ?? env["RUNNER_TLS_KEY_FILE"] else {
        throw .invalid("tls-key-file", "", expected: "the key of the client certificate \(cert)")
      }
      http.tls.clientCertificate = URL(fileURLWithPath: cert)
      http.tls.clientKey = URL(fileURLWithPath: key)
    }
    http.tls.insecureSkipVerify =
      tlsInsecureSkipVerify || env["RUNNER_TLS_INSECURE_SKIP_VERIFY"]?.lowercased() == "true"
    return http
  }
}

/// Environment variables, empty ones treated as unset.
struct LifecycleEnvironment {
  let values: [String: String]

  init(_ values: [String: String]) { self.values = values }

  subscript(name: String) -> String? { values[name].flatMap { $0.isEmpty ? nil : $0 } }

  /// `true`/`false` (also 1/0, yes/no, on/off) from the variable `name`, for the option `option`.
  func bool(_ name: String, option: String) throws(SettingsError) -> Bool? {
    guard let text = self[name] else { return nil }
    switch text.lowercased() {
    case "true", "1", "yes", "on": return true
    case "false", "0", "no", "off": return false
    default: throw .invalid(option, text, expected: "true or false (from \(name))")
    }
  }
}

/// How the lifecycle commands end: 0 done, 1 GitLab refused (a token or a setting), 2 no usable
/// answer from GitLab (unreachable, busy, or a reply lava-runner cannot read).
enum LifecycleExit {
  static let refused: Int32 = 1
  static let noAnswer: Int32 = 2

  /// Prints `Error: …` on standard error and gives the exit code for `error`.
  static func fail(_ error: RunnerLifecycleError) -> ExitCode {
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
  attempts: Int = 3, backoff: Backoff = Backoff(initial: .seconds(1), maximum: .seconds(10)),
  onRetry: (RunnerLifecycleError, Duration) -> Void = { _, _ in },
  _ call: () async throws(RunnerLifecycleError) -> T
) async throws(RunnerLifecycleError) -> T {
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

/// The client for one lifecycle command, with its HTTP client; call `shutdown()` when done.
struct LifecycleSession {
  let client: GitLabClient
  let http: HTTPClient

  init(
    url: URL, token: String, tls: GitLabTLSOptions, environment: [String: String]
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
      runnerToken: token, scrub: { masker.mask($0) })
  }

  /// Validates `url` and `token` (from the arguments or GITLAB_URL/GITLAB_TOKEN) and opens a
  /// session for them: what `verify` and `unregister` both start with.
  static func open(
    url: String?, token: String?, tls: GitLabTLSOptions, environment: [String: String]
  ) throws(CLIError) -> (GitLabConnectionSettings, LifecycleSession) {
    let connection: GitLabConnectionSettings
    do {
      connection = try GitLabConnectionSettings(url: url, token: token, environment: environment)
    } catch {
      throw CLIError(error)
    }
    let session = try LifecycleSession(
      url: connection.url, token: connection.token, tls: tls, environment: environment)
    return (connection, session)
  }

  func shutdown() { http.shutdown() }
}
