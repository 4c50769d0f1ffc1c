import HTTP
import Protocols
import RunnerCore
import YAML

extension JobDefinitionCheck {
  package mutating func checkName(_ root: YAMLNode) {
    requireString("job_name", in: root, example: "kernel smoke test")
  }

  /// A multinode job names device types per role instead, and LAVA rejects a top-level one then.
  package mutating func checkDeviceType(_ root: YAMLNode) {
    if root["protocols"]?["lava-multinode"] != nil {
      if let node = root["device_type"] {
        report(
          "'device_type' must not be used with multinode: set it per role in protocols.lava-multinode.roles",
          at: node.mark)
      }
      return
    }
    requireString("device_type", in: root, example: "qemu")
  }

  /// LAVA accepts `public`, `personal`, or `{group: [names]}`.
  package mutating func checkVisibility(_ root: YAMLNode) {
    let expected = "expected 'public', 'personal' or a mapping 'group: [group names]'"
    guard let visibility = root["visibility"] else {
      report("missing required key 'visibility': \(expected)", at: root.mark)
      return
    }
    if placeholders.isPlaceholder(visibility) { return }
    if let value = visibility.string {
      if value != "public" && value != "personal" {
        report("visibility '\(value)' is not known: \(expected)", at: visibility.mark)
      }
      return
    }
    guard let pairs = visibility.pairs else {
      report("'visibility' is \(visibility.kindDescription): \(expected)", at: visibility.mark)
      return
    }
    guard pairs.count == 1, let group = pairs.first, group.key.scalar?.value == "group" else {
      report("a 'visibility' mapping must hold only the key 'group': \(expected)", at: visibility.mark)
      return
    }
    guard let names = group.value.items else {
      report(
        "'visibility.group' must be a list of group names, found \(group.value.kindDescription)",
        at: group.value.mark)
      return
    }
    for name in names where name.string == nil && !placeholders.isPlaceholder(name) {
      report(
        "a group name in 'visibility.group' must be a string, found \(name.kindDescription)", at: name.mark)
    }
  }

  package mutating func checkPriority(_ root: YAMLNode) {
    guard let priority = root["priority"], !placeholders.isPlaceholder(priority) else { return }
    if let value = priority.int, (0...100).contains(value) { return }
    if let value = priority.string, ["high", "medium", "low"].contains(value) { return }
    let found: String
    switch priority.resolved {
    case .int(let value)?: found = "\(value)"
    case .largeInt(let text)?: found = "\(text), an integer too large for 64 bits"
    case .string(let text)? where text.unicodeScalars.count <= 40: found = "'\(text)'"
    default: found = priority.kindDescription
    }
    report(
      "'priority' must be high, medium, low or a whole number from 0 to 100, found \(found)",
      at: priority.mark)
  }

  package mutating func checkActions(_ root: YAMLNode) {
    let types = JobDefinitionValidator.actionTypes.joined(separator: ", ")
    guard let actions = root["actions"] else {
      report("missing required key 'actions': a list of \(types) actions", at: root.mark)
      return
    }
    guard let items = actions.items else {
      report(
        "'actions' must be a list of \(types) actions, found \(actions.kindDescription)", at: actions.mark)
      return
    }
    if items.isEmpty {
      report("'actions' is empty: a job needs at least one \(types) action", at: actions.mark)
    }
    for (index, item) in items.enumerated() {
      guard let pairs = item.pairs, pairs.count == 1, let action = pairs.first else {
        let found = item.pairs.map { "\($0.count) keys" } ?? item.kindDescription
        report(
          "action \(index + 1) must be a mapping with exactly one key (\(types)), found \(found)",
          at: item.mark)
        continue
      }
      let name = action.key.scalar?.value ?? ""
      guard JobDefinitionValidator.actionTypes.contains(name) else {
        report(
          "action \(index + 1) has unknown type '\(name)': expected one of \(types)", at: action.key.mark)
        continue
      }
      if action.value.pairs == nil {
        report(
          "the '\(name)' action \(index + 1) must be a mapping of its settings, found "
            + action.value.kindDescription, at: action.value.mark)
      }
    }
  }
}
