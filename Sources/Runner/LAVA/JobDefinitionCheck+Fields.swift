extension JobDefinitionCheck {
  mutating func checkName(_ root: YAMLNode) {
    requireString("job_name", in: root, example: "kernel smoke test")
  }

  /// A multinode job names device types per role instead, and LAVA rejects a top-level one then.
  mutating func checkDeviceType(_ root: YAMLNode) {
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

  mutating func checkTimeouts(_ root: YAMLNode) {
    guard let timeouts = root["timeouts"] else {
      report("missing required key 'timeouts': add 'timeouts: {job: {minutes: 30}}'", at: root.mark)
      return
    }
    guard let pairs = timeouts.pairs else {
      report(
        "'timeouts' must be a mapping with at least a 'job' timeout, found \(timeouts.kindDescription)",
        at: timeouts.mark)
      return
    }
    if timeouts["job"] == nil {
      report("missing required key 'job' in 'timeouts': add 'job: {minutes: 30}'", at: timeouts.mark)
    }
    for pair in pairs {
      let key = pair.key.scalar?.value ?? ""
      switch key {
      case "job", "action", "connection", "queue":
        checkTimeout(pair.value, name: "timeouts.\(key)")
      case "actions", "connections":
        guard let named = pair.value.pairs else {
          report(
            "'timeouts.\(key)' must map names to timeouts, found \(pair.value.kindDescription)",
            at: pair.value.mark)
          continue
        }
        for entry in named {
          checkTimeout(entry.value, name: "timeouts.\(key).\(entry.key.scalar?.value ?? "?")")
        }
      default:
        report(
          "unknown key '\(key)' in 'timeouts': expected job, action, actions, connection, connections or queue",
          at: pair.key.mark)
      }
    }
  }

  /// A timeout is one unit with a positive count, e.g. `{minutes: 5}`, and optionally `skip`.
  mutating func checkTimeout(_ node: YAMLNode, name: String) {
    guard let pairs = node.pairs else {
      report(
        "'\(name)' must be a mapping such as '{minutes: 10}', found \(node.kindDescription)", at: node.mark)
      return
    }
    let units = JobDefinitionValidator.timeoutUnits
    let unitPairs = pairs.filter { units.contains($0.key.scalar?.value ?? "") }
    for pair in pairs where !unitPairs.contains(pair) {
      let key = pair.key.scalar?.value ?? ""
      if key == "skip" {
        if pair.value.bool == nil && !placeholders.isPlaceholder(pair.value) {
          report(
            "'\(name).skip' must be true or false, found \(pair.value.kindDescription)", at: pair.value.mark)
        }
      } else {
        report(
          "unknown key '\(key)' in timeout '\(name)': expected one of days, hours, minutes or seconds",
          at: pair.key.mark)
      }
    }
    guard unitPairs.count == 1, let unit = unitPairs.first else {
      let found =
        unitPairs.count == 0 ? "none" : unitPairs.map { $0.key.scalar?.value ?? "" }.joined(separator: ", ")
      report(
        "timeout '\(name)' needs exactly one of days, hours, minutes or seconds, found \(found)",
        at: node.mark)
      return
    }
    if placeholders.isPlaceholder(unit.value) { return }
    guard let count = unit.value.int, count >= 1 else {
      report(
        "'\(name).\(unit.key.scalar?.value ?? "")' must be a whole number of at least 1, found "
          + (unit.value.int.map { "\($0)" } ?? unit.value.kindDescription), at: unit.value.mark)
      return
    }
  }

  /// LAVA accepts `public`, `personal`, or `{group: [names]}`.
  mutating func checkVisibility(_ root: YAMLNode) {
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

  mutating func checkPriority(_ root: YAMLNode) {
    guard let priority = root["priority"], !placeholders.isPlaceholder(priority) else { return }
    if let value = priority.int, (0...100).contains(value) { return }
    if let value = priority.string, ["high", "medium", "low"].contains(value) { return }
    report("'priority' must be high, medium, low or a whole number from 0 to 100", at: priority.mark)
  }

  mutating func checkActions(_ root: YAMLNode) {
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
