import Foundation
import Protocols

/// What a LAVA command does with its LAVA jobs when the GitLab job is cancelled.
enum LAVACancellationPolicy: String, Sendable, Equatable {
  /// Cancel the LAVA jobs too.
  case cancel
  /// Leave them running (another pipeline may still want their results).
  case ignore
}

/// A LAVA command's settings, read once from the job's CI/CD variables and validated together,
/// so that every mistake is reported before anything is sent to LAVA.
struct LAVASettings: Sendable {
  var url: URL
  var token: String
  var cancellation: LAVACancellationPolicy
  /// `LAVA_IGNORE_TEST_FAILURES=true`: a LAVA job passes when its health is Complete, whatever
  /// its test results.
  var ignoreTestFailures: Bool

  static let urlVariable = "LAVA_URL"
  static let tokenVariable = "LAVA_TOKEN"
  static let cancellationVariable = "LAVA_CANCELLATION"
  static let ignoreTestFailuresVariable = "LAVA_IGNORE_TEST_FAILURES"

  /// Reads the settings; `defaultCancellation` is the command's own choice when
  /// `LAVA_CANCELLATION` is not set. Values are quoted in errors only once masked, and the token
  /// never is.
  init(
    variables: JobVariables, defaultCancellation: LAVACancellationPolicy, command: String,
    mask: (String) -> String
  ) throws(CommandFailure) {
    var problems: [String] = []

    let rawURL = variables[Self.urlVariable]?.trimmingCharacters(in: .whitespaces) ?? ""
    var url: URL?
    if rawURL.isEmpty {
      problems.append(
        "\(Self.urlVariable) is not set: set it to the LAVA server's address, e.g. https://lava.example.com/")
    } else if let parsed = URL(string: rawURL), let scheme = parsed.scheme?.lowercased(),
      scheme == "http" || scheme == "https", let host = parsed.host, !host.isEmpty
    {
      url = parsed
    } else {
      problems.append(
        "\(Self.urlVariable) is '\(mask(rawURL))', which is not an http:// or https:// address "
          + "such as https://lava.example.com/")
    }

    let token = variables[Self.tokenVariable] ?? ""
    if token.isEmpty {
      problems.append(
        "\(Self.tokenVariable) is not set: set it (masked) to a LAVA API token of the user that submits the jobs"
      )
    } else if token.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 }) {
      problems.append(
        "\(Self.tokenVariable) contains whitespace or control characters (a pasted line break?); "
          + "a LAVA token is one word")
    }

    var cancellation = defaultCancellation
    if let value = variables[Self.cancellationVariable], !value.isEmpty {
      if let policy = LAVACancellationPolicy(rawValue: value.lowercased()) {
        cancellation = policy
      } else {
        problems.append(
          "\(Self.cancellationVariable) is '\(mask(value))'; expected 'cancel' (cancel the LAVA jobs "
            + "when the GitLab job is cancelled) or 'ignore' (leave them running)")
      }
    }

    var ignoreTestFailures = false
    if let value = variables[Self.ignoreTestFailuresVariable], !value.isEmpty {
      switch value.lowercased() {
      case "true": ignoreTestFailures = true
      case "false": ignoreTestFailures = false
      default:
        problems.append(
          "\(Self.ignoreTestFailuresVariable) is '\(mask(value))'; expected 'true' (pass on LAVA job "
            + "health alone) or 'false'")
      }
    }

    guard let url, problems.isEmpty else {
      throw CommandFailure(
        .scriptFailure,
        "\(command): the job's LAVA settings are not usable:\n"
          + problems.map { "  - \($0)" }.joined(separator: "\n"))
    }
    self.url = url
    self.token = token
    self.cancellation = cancellation
    self.ignoreTestFailures = ignoreTestFailures
  }
}

/// Removes every secret from text that came from outside (server replies, error messages):
/// the job's masked values and the LAVA token, which need not be a masked variable.
struct Redactor: Sendable {
  let mask: @Sendable (String) -> String
  let token: String

  init(context: any JobContext, token: String) {
    self.mask = { [context] in context.mask($0) }
    self.token = token
  }

  func callAsFunction(_ text: String) -> String {
    let masked = mask(text)
    return token.isEmpty ? masked : masked.replacingOccurrences(of: token, with: "[MASKED]")
  }

  func callAsFunction(_ error: any Error) -> String {
    self(String(describing: error))
  }
}

/// The job log with every write redacted: LAVA logs and server messages can carry the LAVA
/// token, which the runner's masking does not know about unless it is a masked variable.
struct RedactingJobLog: JobLog {
  let base: any JobLog
  let redact: Redactor

  func write(_ text: String) async {
    await base.write(redact(text))
  }
}

/// The job's context as LAVA commands use it: the same, but with a log that cannot leak the token.
struct RedactedJobContext: JobContext {
  let base: any JobContext
  let redact: Redactor

  var log: any JobLog { RedactingJobLog(base: base.log, redact: redact) }
  var variables: JobVariables { base.variables }
  var workingDirectory: URL { base.workingDirectory }
  var lava: any LAVAConnector { base.lava }
  var cancellation: JobCancellation? { get async { await base.cancellation } }

  func dependencyFile(at path: String) async throws -> URL { try await base.dependencyFile(at: path) }
  func offerArtifact(named name: String, file: URL) async throws {
    try await base.offerArtifact(named: name, file: file)
  }
  func mask(_ text: String) -> String { redact(text) }
}
