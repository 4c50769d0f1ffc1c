import Protocols

/// The job variables the LAVA commands read (`LAVASettings`), described once for `--help`,
/// `lava-runner commands NAME` and the README's variable table.
extension CommandVariable {
  static let lavaURL = CommandVariable(
    LAVASettings.urlVariable, "the LAVA server, e.g. `https://lava.example.com/`")

  /// `LAVA_TOKEN`, whose user must be allowed to do what `purpose` says.
  static func lavaToken(of purpose: String) -> CommandVariable {
    CommandVariable(LAVASettings.tokenVariable, "API token of \(purpose); mark it *Masked*")
  }

  /// `LAVA_CANCELLATION`, with the command's own default.
  static func lavaCancellation(default policy: LAVACancellationPolicy) -> CommandVariable {
    CommandVariable(
      LAVASettings.cancellationVariable, default: "`\(policy.rawValue)`",
      "`cancel` or `ignore`: what happens to the LAVA jobs when the GitLab job is cancelled, times "
        + "out or the runner stops")
  }

  static let lavaOutageTimeout = CommandVariable(
    LAVASettings.outageTimeoutVariable, default: "the runner's `--lava-outage-timeout` (10m)",
    "how long to wait out an unreachable or failing LAVA server (`90s`, `10m`, `1h 30m` or seconds) "
      + "before the job fails as a runner system failure; the wait is said in the job log once a minute")

  static let lavaIgnoreTestFailures = CommandVariable(
    LAVASettings.ignoreTestFailuresVariable, default: "`false`",
    "`true`: pass on the LAVA jobs' health alone; otherwise a failed test fails the job")

  static let lavaDeviceSections = CommandVariable(
    LAVASettings.deviceSectionsVariable, default: "`false`",
    "`true`: GitLab section markers the device prints (`section_start:…`/`section_end:…`, rejoined "
      + "when LAVA split them) pass through and fold the job log, for a single LAVA job; otherwise they are "
      + "shown as text, so that a board cannot fold or forge the job log's sections")

  static let lavaLogLevels = CommandVariable(
    LAVASettings.logLevelsVariable,
    default: "`target,input,info,warning,error,exception,results`",
    "the LAVA log levels shown in the job log: `all`, or levels separated by commas among "
      + LAVALogLevels.known.map { "`\($0)`" }.joined(separator: ", ")
      + "; `<id>_log.yaml` always has every line")

  static let lavaLogLimit = CommandVariable(
    LAVASettings.logLimitVariable, default: "`16MiB`",
    "how much LAVA log the job log takes (`16MiB`, `500k` or bytes); past it only warnings, errors, "
      + "results and sections are shown, and `<id>_log.yaml` still has every line")

  static let lavaKnownIssues = CommandVariable(
    LAVAKnownIssues.variable, default: "none",
    "a YAML file in the dependencies' artifacts listing log patterns the lab knows (`regex`, `level`, "
      + "`lava_action`, `count` within a `window`) and the `action` to take: `retry` (an infrastructure "
      + "failure), `fail` (end the job with its `message`) or `note` (print it); checked before anything is "
      + "submitted (see examples/known-issues.yaml)")
}
