import HTTP
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

  /// How many problems are shown for one file, the first in source order; the rest are counted.
  package var maximumShown = 50
  package var limits = YAMLLimits.standard

  package init() {}

  /// The first ``maximumShown`` problems found in `text`, in source order; empty when the
  /// definition is valid. See ``findings(in:file:)`` for how many there are in all.
  package func validate(_ text: String, file: String) -> [SourceDiagnostic] {
    findings(in: text, file: file).diagnostics
  }

  /// The problems of `text`: the first ones in source order, and how many there are in all.
  /// Linear in the size of the text, whatever the number of problems.
  package func findings(in text: String, file: String) -> JobDefinitionFindings {
    let placeholders = TemplatePlaceholders(text)
    let documents: [YAMLNode]
    do {
      documents = try YAMLParser.parseDocuments(placeholders.maskedText, file: file, limits: limits)
    } catch {
      var diagnostic = error.diagnostic
      diagnostic.sourceLine = SourceText.line(diagnostic.mark.line, of: text)
      return JobDefinitionFindings(diagnostics: [diagnostic], total: 1)
    }
    var check = JobDefinitionCheck(
      file: file, text: text, placeholders: placeholders, maximumShown: maximumShown)
    check.run(documents)
    return check.findings
  }
}

/// What one validation found: the first problems in source order, with their lines, and how
/// many problems there are in all.
package struct JobDefinitionFindings: Sendable, Hashable {
  package var diagnostics: [SourceDiagnostic]
  package var total: Int

  /// Problems found but not in `diagnostics`.
  package var omitted: Int { total - diagnostics.count }

  /// Each problem as text, then how many more there are, if any.
  package var lines: [String] {
    var lines = diagnostics.map(\.description)
    if omitted > 0 { lines.append(Self.omission(omitted)) }
    return lines
  }

  package static func omission(_ count: Int) -> String {
    "… and \(count) more problem\(count == 1 ? "" : "s") not shown: fix the ones above and check again"
  }
}

/// One validation run: collects every problem instead of stopping at the first.
package struct JobDefinitionCheck {
  private struct Found {
    package var mark: YAMLMark
    package var order: Int
    package var message: String
  }

  package let file: String
  package let text: String
  package let placeholders: TemplatePlaceholders
  package let maximumShown: Int
  /// The first problems in source order so far; trimmed to `maximumShown` now and then, so that
  /// a text with a million problems takes neither quadratic time nor a million messages' memory.
  private var found: [Found] = []
  private var total = 0

  package init(file: String, text: String, placeholders: TemplatePlaceholders, maximumShown: Int = 50) {
    self.file = file
    self.text = text
    self.placeholders = placeholders
    self.maximumShown = max(1, maximumShown)
  }

  package mutating func report(_ message: String, at mark: YAMLMark) {
    found.append(Found(mark: mark, order: total, message: message))
    total += 1
    if found.count >= 2 * maximumShown { trim() }
  }

  /// Keeps the first `maximumShown` in source order (problems at the same place in the order
  /// they were found); the same problem reported twice at one place counts once.
  private mutating func trim() {
    found.sort { ($0.mark, $0.order) < ($1.mark, $1.order) }
    var unique: [Found] = []
    for item in found {
      if let previous = unique.last, previous.mark == item.mark, previous.message == item.message {
        total -= 1
        continue
      }
      unique.append(item)
    }
    found = Array(unique.prefix(maximumShown))
  }

  /// What the run found, each shown problem with its source line (all found in one pass).
  package var findings: JobDefinitionFindings {
    var check = self
    check.trim()
    let lines = SourceText.lines(Set(check.found.map(\.mark.line)), of: text)
    let diagnostics = check.found.map {
      SourceDiagnostic(file: file, mark: $0.mark, message: $0.message, sourceLine: lines[$0.mark.line])
    }
    return JobDefinitionFindings(diagnostics: diagnostics, total: check.total)
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
      report("unknown top-level key '\(key)': LAVA accepts \(Self.topLevelKeyList)", at: pair.key.mark)
    }
    checkName(root)
    checkDeviceType(root)
    let jobTimeout = checkTimeouts(root)
    checkVisibility(root)
    checkPriority(root)
    checkActions(root)
    checkActionTimeouts(root, job: jobTimeout)
  }

  private static let topLevelKeyList = JobDefinitionValidator.topLevelKeys.sorted().joined(separator: ", ")

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

  /// Recurses once per level: the parser bounds the depth (``YAMLLimits/maximumDepth``). An
  /// alias is not walked again: its contents were checked where the anchor is.
  package mutating func checkDuplicateKeys(in node: YAMLNode) {
    if node.alias != nil { return }
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
