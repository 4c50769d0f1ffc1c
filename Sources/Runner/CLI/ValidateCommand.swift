import ArgumentParser
import Foundation

struct ValidateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check LAVA job definitions offline, before a pipeline submits them.",
    discussion: """
      Reads each FILE as a LAVA job definition and reports every problem found, as \
      FILE:LINE:COLUMN: MESSAGE followed by the offending line and a caret. Nothing is sent to a \
      LAVA server.

      Checked, as LAVA's job schema requires:
        - the file is valid YAML (tabs, unclosed quotes, bad indentation, undefined aliases)
        - it holds one document, and that document is a mapping
        - job_name and device_type are non-empty strings (device_type is set per role instead in \
      multinode jobs)
        - timeouts is a mapping with a job timeout; every timeout is one of days, hours, minutes \
      or seconds with a whole number of at least 1
        - visibility is public, personal, or group: [names]
        - actions is a non-empty list whose items each hold exactly one of deploy, boot, test or \
      command, mapped to its settings
        - priority, when set, is high, medium, low or 0-100; no unknown top-level keys; no \
      duplicate keys

      GitLab CI placeholders such as {{ job.DEVICE_TYPE }} are accepted wherever a value is \
      expected, since they are filled in before submission; the template itself is checked as \
      submit checks it: only {{ job.NAME }} tags and {{#job.NAME}}…{{/job.NAME}} sections, every \
      {{ and every section closed, no partials, blocks, pragmas or delimiter changes. Whether each \
      variable exists is known only in the job. The contents of each action (deploy methods, boot \
      methods, test definitions) are left to LAVA.

      Exit status: 0 when every file is valid, 1 when any file is invalid or cannot be read.
      """
  )

  @Argument(help: "LAVA job definition files (YAML) to check.")
  var files: [String]

  @Flag(name: .long, help: "Never colour the output (it is coloured only on a terminal anyway).")
  var noColor = false

  func validate() throws {
    if files.isEmpty { throw ValidationError("Give at least one job definition file to check.") }
  }

  func run() async throws {
    let report = JobDefinitionReport.check(paths: files)
    let colours =
      !noColor && isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    print(report.rendered(colours: colours))
    if !report.allValid { throw ExitCode(1) }
  }
}
