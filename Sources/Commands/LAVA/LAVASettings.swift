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
  /// Whether GitLab section markers the device prints pass through (LAVA_DEVICE_SECTIONS).
  var deviceSections = false
  /// `LAVA_OUTAGE_TIMEOUT`: how long to wait out an unreachable LAVA; nil for the runner's
  /// default (`--lava-outage-timeout`).
  var outageTimeout: Duration?
  /// `LAVA_LOG_LEVELS`: the LAVA log levels shown in the job log.
  var logLevels: LAVALogLevels = .standard
  /// `LAVA_LOG_LIMIT`: bytes of LAVA log in the job log past which only what matters is shown.
  var logLimit: Int = LAVALogVolume.defaultLimit
  /// `LAVA_HANG_TIMEOUT`, `LAVA_QUEUE_TIMEOUT`, `LAVA_RETRIES`.
  var attempts = LAVAAttemptSettings.standard

  static let urlVariable = "LAVA_URL"
  static let tokenVariable = "LAVA_TOKEN"
  static let cancellationVariable = "LAVA_CANCELLATION"
  static let ignoreTestFailuresVariable = "LAVA_IGNORE_TEST_FAILURES"
  static let deviceSectionsVariable = "LAVA_DEVICE_SECTIONS"
  static let outageTimeoutVariable = "LAVA_OUTAGE_TIMEOUT"
  static let logLevelsVariable = "LAVA_LOG_LEVELS"
  static let logLimitVariable = "LAVA_LOG_LIMIT"

  /// Reads the settings; `defaultCancellation` is the command's own choice when
  /// `LAVA_CANCELLATION` is not set. Values are quoted in errors only once masked, the token
  /// never is, and neither is what stands before `@` in an address (a user name and password).
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
      if parsed.user != nil || parsed.password != nil || Self.userInfo(in: rawURL) != nil {
        problems.append(
          "\(Self.urlVariable) holds a user name or password before '@' ('\(mask(Self.shown(rawURL)))'); "
            + "remove it and give the API token in \(Self.tokenVariable) (masked) instead")
      } else {
        url = parsed
      }
    } else {
      problems.append(
        "\(Self.urlVariable) is '\(mask(Self.shown(rawURL)))', which is not an http:// or https:// "
          + "address such as https://lava.example.com/")
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

    var deviceSections = false
    if let value = variables[Self.deviceSectionsVariable], !value.isEmpty {
      switch value.lowercased() {
      case "true": deviceSections = true
      case "false": deviceSections = false
      default:
        problems.append(
          "\(Self.deviceSectionsVariable) is '\(mask(value))'; expected 'true' (GitLab section markers "
            + "the device prints fold the job log) or 'false' (they are shown as text)")
      }
    }

    var outageTimeout: Duration?
    if let value = variables[Self.outageTimeoutVariable], !value.isEmpty {
      if let duration = DurationText.parse(value), duration > .zero {
        outageTimeout = duration
      } else {
        problems.append(
          "\(Self.outageTimeoutVariable) is '\(mask(value))'; expected a duration such as 90s, 10m or "
            + "1h 30m, or a number of seconds, greater than zero and at most a year")
      }
    }

    var logLevels = LAVALogLevels.standard
    if let value = variables[Self.logLevelsVariable], !value.isEmpty {
      if let levels = LAVALogLevels(value) {
        logLevels = levels
      } else {
        problems.append(
          "\(Self.logLevelsVariable) is '\(mask(value))'; expected 'all' or levels separated by commas among "
            + LAVALogLevels.known.joined(separator: ", ") + ", e.g. 'target,info,warning,error,results'")
      }
    }

    var logLimit = LAVALogVolume.defaultLimit
    if let value = variables[Self.logLimitVariable], !value.isEmpty {
      if let bytes = LAVALogVolume.bytes(value) {
        logLimit = bytes
      } else {
        problems.append(
          "\(Self.logLimitVariable) is '\(mask(value))'; expected a size such as 16MiB, 500k or a number of "
            + "bytes (more than 0)")
      }
    }

    let attempts = LAVAAttemptSettings(variables: variables, mask: mask, problems: &problems)

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
    self.deviceSections = deviceSections
    self.outageTimeout = outageTimeout
    self.logLevels = logLevels
    self.logLimit = logLimit
    self.attempts = attempts
  }

  /// The byte range of an address's user information (`user:password`) as written, if any:
  /// what stands before the last `@` of the part between `://` and the path. On bytes, so that
  /// a combining mark after `@` cannot hide it.
  static func userInfo(in address: String) -> Range<Int>? {
    let bytes = Array(address.utf8)
    var authorityStart = 0
    if let scheme = bytes.indices.first(where: { bytes[$0...].starts(with: "://".utf8) }) {
      authorityStart = scheme + 3
    }
    let authorityEnd =
      bytes[authorityStart...].firstIndex(where: { "/?#".utf8.contains($0) }) ?? bytes.count
    guard let at = bytes[authorityStart..<authorityEnd].lastIndex(of: UInt8(ascii: "@")) else {
      return nil
    }
    return authorityStart..<at
  }

  /// An address as it may be quoted: its user information replaced by `[MASKED]`.
  static func shown(_ address: String) -> String {
    guard let userInfo = userInfo(in: address) else { return address }
    var bytes = Array(address.utf8)
    bytes.replaceSubrange(userInfo, with: "[MASKED]".utf8)
    return String(decoding: bytes, as: UTF8.self)
  }
}

/// The LAVA log levels a command shows in the job log; `<id>_log.yaml` always has every line.
struct LAVALogLevels: Sendable, Equatable {
  /// Nil: every level, including ones this runner does not know.
  var shown: Set<String>?

  /// LAVA's levels, as `LAVA_LOG_LEVELS` accepts them.
  static let known = [
    "target", "input", "info", "warning", "error", "exception", "results", "debug", "feedback",
  ]
  /// Everything but LAVA's own debug output and the feedback of other namespaces.
  static let standard = LAVALogLevels(
    shown: ["target", "input", "info", "warning", "error", "exception", "results"])
  static let all = LAVALogLevels(shown: nil)

  init(shown: Set<String>?) { self.shown = shown }

  /// `all`, or levels separated by commas (spaces allowed); nil for anything else.
  init?(_ text: String) {
    let words = text.lowercased().split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    if words == ["all"] {
      shown = nil
      return
    }
    guard !words.isEmpty, words.allSatisfy({ Self.known.contains($0) }) else { return nil }
    shown = Set(words)
  }

  /// Whether a line of `level` reaches the job log; a level LAVA adds later shows unless a
  /// list was given.
  func shows(_ level: String) -> Bool {
    guard let shown else { return true }
    if self == .standard { return !["debug", "feedback"].contains(level) }
    return shown.contains(level)
  }
}
