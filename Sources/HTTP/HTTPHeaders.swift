import RunnerCore

/// An ordered list of HTTP header fields with case-insensitive lookup.
///
/// Order and repeated names are kept because some replies (`Set-Cookie`, `Link`) repeat a
/// header and the order can matter to a caller.
package struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
  package struct Field: Sendable, Equatable {
    package var name: String
    package var value: String
  }

  package private(set) var fields: [Field] = []

  package init() {}

  package init(dictionaryLiteral elements: (String, String)...) {
    fields = elements.map { Field(name: $0.0, value: $0.1) }
  }

  /// The first value for `name` (any case); setting replaces every field of that name.
  package subscript(name: String) -> String? {
    get { fields.first { Self.sameName($0.name, name) }?.value }
    set {
      guard let newValue else {
        remove(name)
        return
      }
      var replaced = false
      fields = fields.compactMap { field in
        guard Self.sameName(field.name, name) else { return field }
        defer { replaced = true }
        return replaced ? nil : Field(name: field.name, value: newValue)
      }
      if !replaced {
        fields.append(Field(name: name, value: newValue))
      }
    }
  }

  /// Every value for `name` (any case), in order.
  package func values(for name: String) -> [String] {
    fields.filter { Self.sameName($0.name, name) }.map(\.value)
  }

  package func contains(_ name: String) -> Bool {
    fields.contains { Self.sameName($0.name, name) }
  }

  /// Appends a field, keeping fields of the same name that are already there.
  package mutating func add(name: String, value: String) {
    fields.append(Field(name: name, value: value))
  }

  package mutating func remove(_ name: String) {
    fields.removeAll { Self.sameName($0.name, name) }
  }

  /// Keeps the fields for which `shouldKeep` is true.
  package mutating func keep(where shouldKeep: (Field) -> Bool) {
    fields = fields.filter(shouldKeep)
  }

  package func makeIterator() -> IndexingIterator<[Field]> {
    fields.makeIterator()
  }

  package static func sameName(_ lhs: String, _ rhs: String) -> Bool {
    lhs.utf8.count == rhs.utf8.count && lhs.lowercased() == rhs.lowercased()
  }
}
