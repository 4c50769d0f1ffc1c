import Protocols
import YAML

extension JobDefinitionValidator {
  /// The job timeout `text` asks for (`timeouts: job: {minutes: 30}`), in seconds; nil when the
  /// definition cannot be read or has no valid job timeout. For `submit`'s warnings and retry
  /// estimates, on a definition already validated.
  package func jobTimeout(in text: String) -> Int? {
    let placeholders = TemplatePlaceholders(text)
    guard
      let root = try? YAMLParser.parseDocuments(placeholders.maskedText, file: "definition", limits: limits)
        .first,
      let job = root["timeouts"]?["job"]
    else { return nil }
    var check = JobDefinitionCheck(file: "definition", text: text, placeholders: placeholders)
    return check.checkTimeout(job, name: "timeouts.job")
  }
}
