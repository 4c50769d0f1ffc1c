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

  /// What `submit`'s follower does with the pages of one LAVA job's log, for the benchmark:
  /// the raw lines for `<id>_log.yaml` and the job log text in the writes the follower makes.
  package struct LogForwarder {
    var sections: LAVALogSections
    var error = LAVAJobError()

    package init(jobID: Int64) {
      sections = LAVALogSections(jobID: jobID, renderer: LAVALogRenderer())
    }

    /// The bytes `<id>_log.yaml` gets for `lines`, in the pieces the log file writes.
    package func rawLog(of lines: [LAVALogLine], _ write: ([UInt8]) -> Int) -> Int {
      var bytes: [UInt8] = []
      var written = 0
      for line in lines {
        bytes.append(contentsOf: line.raw.utf8)
        bytes.append(UInt8(ascii: "\n"))
        if bytes.count >= LAVALogFile.pieceSize {
          written += write(bytes)
          bytes.removeAll(keepingCapacity: true)
        }
      }
      return written + write(bytes)
    }

    /// One page, in the one write of its UTF-8 bytes the follower makes of it.
    package mutating func forward(_ lines: [LAVALogLine], _ write: ([UInt8]) -> Void) {
      var text: [UInt8] = []
      text.reserveCapacity(lines.count * 160)
      for line in lines {
        LAVALogFollower.append(line, structure: &sections, plain: nil, error: &error, to: &text)
      }
      write(text)
    }

    package mutating func finish(_ write: (String) -> Void) {
      write(sections.finish())
    }
  }
}
