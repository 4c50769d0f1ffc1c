import ArgumentParser
import Commands
import Foundation
import GitLabAPI
import HTTP
import JobEngine
import LAVA
import RunnerCore
import YAML

struct ValidateSubcommand: AsyncParsableCommand {
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
      or seconds with a whole number of at least 1, at most 999999999 days in all
        - visibility is public, personal, or group: [names]
        - actions is a non-empty list whose items each hold exactly one of deploy, boot, test or \
      command, mapped to its settings
        - priority, when set, is high, medium, low or 0-100; no unknown top-level keys; no \
      duplicate keys

      The first 50 problems of a file are shown, in source order, then how many more there are. \
      A file larger than 16 MiB, with more than 1,000,000 values (aliases counted as copies) or \
      nested more than 256 levels is refused. Control characters of the file are shown as \
      escapes such as \\x1B.

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
    let report = JobDefinitionReport.check(paths: files, templateDiagnostics: Self.templateDiagnostics)
    let colours =
      !noColor && isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
    print(report.rendered(colours: colours))
    if !report.allValid { throw ExitCode(1) }
  }

  /// The template problems `submit` would refuse the file for, from the same check.
  static func templateDiagnostics(in text: String, file: String) -> [SourceDiagnostic] {
    TemplateCheck.problems(in: text).map { problem in
      SourceDiagnostic(
        file: file, mark: YAMLMark(line: problem.line, column: problem.column), message: problem.message,
        sourceLine: SourceText.line(problem.line, of: text))
    }
  }
}
