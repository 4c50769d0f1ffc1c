import Protocols

/// The watchdogs and the retry budget of a LAVA command: `LAVA_HANG_TIMEOUT`,
/// `LAVA_QUEUE_TIMEOUT` and `LAVA_RETRIES`, read with the other ``LAVASettings`` so that a bad
/// value fails the job before anything is submitted.
struct LAVAAttemptSettings: Sendable, Equatable {
  /// A Running LAVA job with no new log line for this long is cancelled (an infrastructure failure).
  var hangTimeout: Duration
  /// A LAVA job still queued this long after it was submitted (or first seen) is cancelled and
  /// the GitLab job fails; nil: it may wait forever.
  var queueTimeout: Duration?
  /// How many more times `submit` sends a definition whose attempt failed because of LAVA.
  var retries: Int

  static let defaultHangTimeout: Duration = .seconds(600)
  static let defaultRetries = 2
  /// More retries than this would keep a lab's board busy on a broken setup for hours.
  static let maximumRetries = 10
  static let standard = LAVAAttemptSettings(
    hangTimeout: defaultHangTimeout, queueTimeout: nil, retries: defaultRetries)

  static let hangTimeoutVariable = "LAVA_HANG_TIMEOUT"
  static let queueTimeoutVariable = "LAVA_QUEUE_TIMEOUT"
  static let retriesVariable = "LAVA_RETRIES"

  static let durationForm =
    "a duration such as 90s, 10m or 1h 30m, or a number of seconds, greater than zero and at most a year"

  init(hangTimeout: Duration, queueTimeout: Duration?, retries: Int) {
    self.hangTimeout = hangTimeout
    self.queueTimeout = queueTimeout
    self.retries = retries
  }

  /// Reads the three variables; each bad value adds a problem naming the variable and the form
  /// it accepts, its value quoted once masked.
  init(variables: JobVariables, mask: (String) -> String, problems: inout [String]) {
    self = .standard
    if let value = variables[Self.hangTimeoutVariable], !value.isEmpty {
      if let duration = DurationText.parse(value), duration > .zero {
        hangTimeout = duration
      } else {
        problems.append(
          "\(Self.hangTimeoutVariable) is '\(mask(value))'; expected \(Self.durationForm) "
            + "(how long a running LAVA job may print nothing before it is cancelled)")
      }
    }
    if let value = variables[Self.queueTimeoutVariable], !value.isEmpty {
      if value.lowercased() == "none" {
        queueTimeout = nil
      } else if let duration = DurationText.parse(value), duration > .zero {
        queueTimeout = duration
      } else {
        problems.append(
          "\(Self.queueTimeoutVariable) is '\(mask(value))'; expected \(Self.durationForm), or 'none' "
            + "(how long a LAVA job may stay queued)")
      }
    }
    if let value = variables[Self.retriesVariable], !value.isEmpty {
      if let count = Int(value.trimmingCharacters(in: .whitespaces)),
        (0...Self.maximumRetries).contains(count)
      {
        retries = count
      } else {
        problems.append(
          "\(Self.retriesVariable) is '\(mask(value))'; expected a whole number from 0 to "
            + "\(Self.maximumRetries) (how many more times a definition is submitted after a LAVA "
            + "infrastructure failure)")
      }
    }
  }
}

extension CommandVariable {
  static let lavaHangTimeout = CommandVariable(
    LAVAAttemptSettings.hangTimeoutVariable, default: "`10m`",
    "a running LAVA job that prints no log line for this long (`90s`, `10m`, `1h 30m` or seconds) is "
      + "cancelled in LAVA and counts as an infrastructure failure")

  static let lavaQueueTimeout = CommandVariable(
    LAVAAttemptSettings.queueTimeoutVariable, default: "none",
    "a LAVA job still queued after this long (`90s`, `10m`, `1h 30m` or seconds) is cancelled and the "
      + "job fails, naming the device type, its devices online and the jobs ahead")

  static let lavaRetries = CommandVariable(
    LAVAAttemptSettings.retriesVariable, default: "`2`",
    "how many more times (0 to 10) the definition is submitted when an attempt fails because of LAVA "
      + "(error type Infrastructure, Bug or Configuration, a hang, a submission that did not reach "
      + "LAVA) and the GitLab job's time left can hold another; failed tests are never retried")
}
