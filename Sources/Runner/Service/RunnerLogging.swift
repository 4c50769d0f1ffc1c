import Foundation
import Logging
import RunnerCore
import Synchronization

/// The runner's own log: one line per event on standard error, secrets masked in the message
/// and in every metadata value, whatever the level.
enum RunnerLogging {
  enum Format: String, Sendable, CaseIterable {
    case text, json
  }

  /// A logger for the runner, secrets hidden. `format` defaults to text on a terminal and
  /// JSON lines otherwise.
  static func logger(level: Logger.Level, secrets: [String], format: Format? = nil) -> Logger {
    let masker = SecretMasker(secrets: secrets)
    let format = format ?? (isatty(STDERR_FILENO) == 1 ? .text : .json)
    var logger = Logger(label: "lava-runner") { label in
      MaskingLogHandler(label: label, masker: masker, format: format)
    }
    logger.logLevel = level
    return logger
  }
}

struct MaskingLogHandler: LogHandler {
  let label: String
  let masker: SecretMasker
  let format: RunnerLogging.Format
  var logLevel: Logger.Level = .info
  var metadata: Logger.Metadata = [:]
  var output: @Sendable (String) -> Void = { line in
    FileHandle.standardError.write(Data((line + "\n").utf8))
  }

  init(label: String, masker: SecretMasker, format: RunnerLogging.Format) {
    self.label = label
    self.masker = masker
    self.format = format
  }

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    var merged = metadata
    if let extra = event.metadata { merged.merge(extra) { $1 } }
    let message = masker.mask(event.message.description)
    let fields = merged.mapValues { masker.mask("\($0)") }
    output(render(level: event.level, message: message, fields: fields, date: Date()))
  }

  func render(level: Logger.Level, message: String, fields: [String: String], date: Date) -> String {
    let time = date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
    switch format {
    case .text:
      let details = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
      return "\(time) \(level.rawValue.uppercased()) \(message)" + (details.isEmpty ? "" : " \(details)")
    case .json:
      var object: [String: String] = fields
      object["time"] = time
      object["level"] = level.rawValue
      object["msg"] = message
      let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
      return String(decoding: data, as: UTF8.self)
    }
  }
}
