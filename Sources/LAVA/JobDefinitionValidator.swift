import Protocols
import RunnerCore
import YAML

/// Offline checks of a LAVA job definition: the structure LAVA's own job schema
/// (`lava_common/schemas/__init__.py`) requires before it accepts a submission. Action contents
/// (deploy methods, boot methods, test definitions) are left to LAVA, which knows the devices.
package struct JobDefinitionValidator: Sendable {
  package static let actionTypes = ["deploy", "boot", "test", "command"]
  package static let topLevelKeys: Set<String> = [
    "job_name", "device_type", "timeouts", "visibility", "context", "metadata", "priority", "tags",
    "secrets", "environment", "protocols", "notify", "reboot_to_fastboot", "actions",
  ]
  package static let timeoutUnits = ["days", "hours", "minutes", "seconds"]

  /// Every problem found in `text`, in source order; empty when the definition is valid.
  package func validate(_ text: String, file: String) -> [SourceDiagnostic] {
    let placeholders = TemplatePlaceholders(text)
    let documents: [YAMLNode]
    do {
      documents = try YAMLParser.parseDocuments(placeholders.maskedText, file: file)
    } catch {
      var diagnostic = error.diagnostic
      diagnostic.sourceLine = SourceText.line(diagnostic.mark.line, of: text)
      return [diagnostic]
    }
    var check = JobDefinitionCheck(file: file, text: text, placeholders: placeholders)
    check.run(documents)
    // Problems at the same place keep the order they were found in.
    return check.diagnostics.enumerated()
      .sorted { ($0.element.mark, $0.offset) < ($1.element.mark, $1.offset) }
      .map(\.element)
  }
}

/// One validation run: collects every problem instead of stopping at the first.
package struct JobDefinitionCheck {
  package let file: String
  package let text: String
  package let placeholders: TemplatePlaceholders
  package private(set) var diagnostics: [SourceDiagnostic] = []

  package init(file: String, text: String, placeholders: TemplatePlaceholders) {
    self.file = file
    self.text = text
    self.placeholders = placeholders
  }

  package mutating func report(_ message: String, at mark: YAMLMark) {
    diagnostics.append(
      SourceDiagnostic(
        file: file, mark: mark, message: message, sourceLine: SourceText.line(mark.line, of: text)))
  }

  package mutating func run(_ documents: [YAMLNode]) {
    guard let root = documents.first, !root.isNull else {
      report(
        "the file is empty: a LAVA job definition is a mapping with job_name, device_type, timeouts, "
          + "visibility and actions", at: documents.first?.mark ?? YAMLMark(line: 1, column: 1))
      return
    }
    if documents.count > 1 {
      report(
        "a second YAML document starts here: LAVA reads one job definition per file; "
          + "move it to its own file", at: documents[1].mark)
    }
    guard let pairs = root.pairs else {
      report(
        "the job definition is \(root.kindDescription), expected a mapping of keys such as "
          + "job_name, device_type, timeouts, visibility and actions", at: root.mark)
      return
    }
    checkDuplicateKeys(in: root)
    for pair in pairs {
      guard let key = pair.key.string ?? pair.key.scalar?.value,
        !JobDefinitionValidator.topLevelKeys.contains(key)
      else { continue }
      report(
        "unknown top-level key '\(key)': LAVA accepts "
          + JobDefinitionValidator.topLevelKeys.sorted().joined(separator: ", "), at: pair.key.mark)
    }
    checkName(root)
    checkDeviceType(root)
    let jobTimeout = checkTimeouts(root)
    checkVisibility(root)
    checkPriority(root)
    checkActions(root)
    checkActionTimeouts(root, job: jobTimeout)
  }

  // MARK: - Shared checks

  /// A value LAVA reads as a string; a placeholder counts, since it becomes one once templated.
  package mutating func requireString(
    _ key: String, in mapping: YAMLNode, example: String, maxLength: Int = 200
  ) {
    guard let node = mapping[key] else {
      report(
        "missing required key '\(key)' in the job definition: add e.g. '\(key): \(example)'", at: mapping.mark
      )
      return
    }
    if placeholders.isPlaceholder(node) { return }
    guard let value = node.string else {
      report("'\(key)' must be a non-empty string, found \(node.kindDescription)", at: node.mark)
      return
    }
    if value.trimmingSpaces.isEmpty {
      report("'\(key)' must be a non-empty string", at: node.mark)
    } else if value.count > maxLength {
      report("'\(key)' is \(value.count) characters long, LAVA allows at most \(maxLength)", at: node.mark)
    }
  }

  package mutating func checkDuplicateKeys(in node: YAMLNode) {
    switch node.content {
    case .scalar: return
    case .sequence(let items):
      for item in items { checkDuplicateKeys(in: item) }
    case .mapping(let pairs):
      var seen: [String: YAMLMark] = [:]
      for pair in pairs {
        // Merged keys are meant to be overridden; only keys written twice are mistakes.
        if !pair.isMerged, let key = pair.key.scalar?.value {
          if let first = seen[key] {
            report(
              "duplicate key '\(key)' (first at line \(first.line)): YAML keeps only the last one; "
                + "remove or rename one of them", at: pair.key.mark)
          } else {
            seen[key] = pair.key.mark
          }
        }
        checkDuplicateKeys(in: pair.value)
      }
    }
  }
}

extension String {
  fileprivate var trimmingSpaces: Substring {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
    guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
      return ""
    }
    return self[start...end]
  }
}
