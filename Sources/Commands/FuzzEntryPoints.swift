import Foundation
import Protocols

/// The readers and renderers of this target that take what anyone can write (a jobs.json, a
/// definition template, LAVA log lines), reachable without a job context so that the fuzz
/// targets (Sources/Fuzz) can call them. Nothing else uses these.
package enum CommandsFuzzEntryPoints {
  /// `monitor-file`'s reading of a jobs.json.
  package static func jobIDs(in data: Data) throws(CommandFailure) -> [Int64] {
    try LAVAJobIDsFile.parse(data, name: "jobs.json")
  }

  /// `submit`'s rendering of a definition template with the job's variables.
  package static func renderTemplate(_ data: Data, variables: JobVariables) throws(CommandFailure) -> String {
    try DefinitionTemplate(name: "definition.yaml", data: data).render(with: variables)
  }

  /// The job log text of one LAVA log line, as `submit` and `monitor-file` write it.
  package static func render(_ line: LAVALogLine, prefix: String = "") -> String {
    LAVALogRenderer(prefix: prefix).render(line)
  }
}
