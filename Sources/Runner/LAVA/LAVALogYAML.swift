import CYAML
import Foundation

/// The YAML fallback for log lines that are not JSON, over libyaml's event parser: one line is
/// a one-item sequence whose item is the entry. Tags (`! "558"`, `!!str`) are read as YAML
/// reads them; anchors and aliases, which LAVA never writes, make the line unreadable.
enum LAVALogYAML {
  /// The item of a line `- <value>`, or nil when the line is not exactly one sequence item.
  static func value(ofSequenceItem line: String) -> LAVALogValue? {
    // On the heap: libyaml's string input keeps a pointer to the parser itself.
    let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
    defer { parser.deallocate() }
    guard yaml_parser_initialize(parser) == 1 else { return nil }
    defer { yaml_parser_delete(parser) }
    let bytes = Array(line.utf8)
    return bytes.withUnsafeBufferPointer { buffer -> LAVALogValue? in
      yaml_parser_set_input_string(parser, buffer.baseAddress, buffer.count)
      var reader = EventReader(parser: parser)
      guard reader.expect(YAML_STREAM_START_EVENT), reader.expect(YAML_DOCUMENT_START_EVENT),
        reader.expect(YAML_SEQUENCE_START_EVENT),
        let value = reader.value(depth: 0),
        reader.expect(YAML_SEQUENCE_END_EVENT), reader.expect(YAML_DOCUMENT_END_EVENT),
        reader.expect(YAML_STREAM_END_EVENT)
      else { return nil }
      return value
    }
  }

  private struct EventReader {
    let parser: UnsafeMutablePointer<yaml_parser_t>
    /// The event read ahead by `value(depth:)` when it met the end of a collection.
    var pending: Event?

    struct Event {
      var type: yaml_event_type_t
      var scalar: String?
      var quoted = false
      var plain = false
      var tagged = false
    }

    mutating func next() -> Event? {
      if let event = pending {
        pending = nil
        return event
      }
      var event = yaml_event_t()
      guard yaml_parser_parse(parser, &event) == 1 else { return nil }
      defer { yaml_event_delete(&event) }
      var result = Event(type: event.type)
      switch event.type {
      case YAML_SCALAR_EVENT:
        let scalar = event.data.scalar
        result.scalar = String(
          decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
        result.plain = scalar.style == YAML_PLAIN_SCALAR_STYLE
        result.quoted = !result.plain
        result.tagged = scalar.tag != nil
      case YAML_ALIAS_EVENT:
        return nil
      default:
        break
      }
      return result
    }

    mutating func expect(_ type: yaml_event_type_t) -> Bool {
      next()?.type == type
    }

    /// Reads one node; nil on an error or when the node is an end event (left in `pending`).
    mutating func value(depth: Int) -> LAVALogValue? {
      guard depth < 64, let event = next() else { return nil }
      switch event.type {
      case YAML_SCALAR_EVENT:
        let text = event.scalar ?? ""
        if event.plain && !event.tagged {
          if ["", "~", "null", "Null", "NULL"].contains(text) { return .null }
          return .scalar(text, quoted: !Self.looksLikeNumberOrBool(text))
        }
        return .scalar(text, quoted: true)
      case YAML_SEQUENCE_START_EVENT:
        var items: [LAVALogValue] = []
        while true {
          if let item = value(depth: depth + 1) {
            items.append(item)
          } else if pending?.type == YAML_SEQUENCE_END_EVENT {
            pending = nil
            return .list(items)
          } else {
            return nil
          }
        }
      case YAML_MAPPING_START_EVENT:
        var fields: [String: LAVALogValue] = [:]
        while true {
          if let key = value(depth: depth + 1) {
            guard case .scalar(let name, _) = key, let item = value(depth: depth + 1) else { return nil }
            fields[name] = item
          } else if pending?.type == YAML_MAPPING_END_EVENT {
            pending = nil
            return .map(fields)
          } else {
            return nil
          }
        }
      default:
        pending = event
        return nil
      }
    }

    private static func looksLikeNumberOrBool(_ text: String) -> Bool {
      ["true", "false", "True", "False", "TRUE", "FALSE"].contains(text) || Double(text) != nil
    }
  }
}
