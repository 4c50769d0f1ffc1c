import CYAML

/// Reads YAML with libyaml's event API into `YAMLNode` trees that remember where each node starts.
package enum YAMLParser {
  /// The first document of `text`, or nil when the text holds none; what follows it is not read.
  /// This is the entry point for short texts such as one LAVA log line.
  package static func parse(_ text: String, file: String = "<string>") throws(YAMLError) -> YAMLNode? {
    try read(text, file: file, firstOnly: true).first
  }

  /// Every document of `text`, in order; empty when the text holds none.
  package static func parseDocuments(_ text: String, file: String = "<string>") throws(YAMLError)
    -> [YAMLNode]
  {
    try read(text, file: file, firstOnly: false)
  }

  private static func read(_ text: String, file: String, firstOnly: Bool) throws(YAMLError) -> [YAMLNode] {
    var source = text
    let result: Result<[YAMLNode], YAMLError> = source.withUTF8 { bytes in
      var builder = TreeBuilder(text: text, file: file)
      do throws(YAMLError) {
        try builder.run(bytes, firstOnly: firstOnly)
        return .success(builder.documents)
      } catch {
        return .failure(error)
      }
    }
    return try result.get()
  }
}

/// Turns the event stream into nodes; one per parse, never shared.
private struct TreeBuilder {
  private enum Frame {
    case sequence(YAMLNode, [YAMLNode])
    case mapping(YAMLNode, [YAMLPair], pendingKey: YAMLNode?)
  }

  let text: String
  let file: String
  private(set) var documents: [YAMLNode] = []
  private var stack: [Frame] = []
  private var anchors: [String: YAMLNode] = [:]
  /// Expanded node counts, so that aliases of aliases (a "billion laughs" text) are refused
  /// before every walk over the tree becomes exponential.
  private var sizes: [Int] = []
  private var anchorSizes: [String: Int] = [:]
  private var documentSize = 0
  static let maximumNodes = 1_000_000

  init(text: String, file: String) {
    self.text = text
    self.file = file
  }

  mutating func run(_ bytes: UnsafeBufferPointer<UInt8>, firstOnly: Bool) throws(YAMLError) {
    var parser = yaml_parser_t()
    guard yaml_parser_initialize(&parser) == 1 else {
      throw YAMLError(
        file: file, mark: YAMLMark(line: 1, column: 1), reason: .parserUnavailable, sourceLine: nil)
    }
    defer { yaml_parser_delete(&parser) }
    // libyaml wants a non-null pointer even for an empty input.
    let empty: [UInt8] = [0]
    try empty.withUnsafeBufferPointer { (fallback) throws(YAMLError) in
      guard let base = bytes.baseAddress ?? fallback.baseAddress else { return }
      yaml_parser_set_input_string(&parser, base, bytes.count)
      yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
      var event = yaml_event_t()
      while true {
        guard yaml_parser_parse(&parser, &event) == 1 else { throw error(of: parser) }
        defer { yaml_event_delete(&event) }
        let type = event.type
        if type == YAML_STREAM_END_EVENT { return }
        try handle(event)
        if firstOnly && type == YAML_DOCUMENT_END_EVENT { return }
      }
    }
  }

  private mutating func handle(_ event: yaml_event_t) throws(YAMLError) {
    let mark = YAMLMark(event.start_mark)
    switch event.type {
    case YAML_DOCUMENT_START_EVENT:
      anchors.removeAll(keepingCapacity: true)
      anchorSizes.removeAll(keepingCapacity: true)
      documentSize = 0
    case YAML_SCALAR_EVENT:
      let data = event.data.scalar
      let value = String(decoding: UnsafeBufferPointer(start: data.value, count: data.length), as: UTF8.self)
      let node = YAMLNode(
        .scalar(YAMLScalar(value: value, style: YAMLScalarStyle(data.style))),
        mark: mark, tag: string(data.tag), anchor: string(data.anchor))
      try count(1, anchor: node.anchor, at: mark)
      attach(node)
    case YAML_SEQUENCE_START_EVENT:
      let data = event.data.sequence_start
      let node = YAMLNode(.sequence([]), mark: mark, tag: string(data.tag), anchor: string(data.anchor))
      stack.append(.sequence(node, []))
      sizes.append(1)
      documentSize += 1
    case YAML_MAPPING_START_EVENT:
      let data = event.data.mapping_start
      let node = YAMLNode(.mapping([]), mark: mark, tag: string(data.tag), anchor: string(data.anchor))
      stack.append(.mapping(node, [], pendingKey: nil))
      sizes.append(1)
      documentSize += 1
    case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
      guard let node = try stackPop(), let size = sizes.popLast() else { return }
      node.anchor.map { anchors[$0] = node }
      // Its nodes are counted already; only its parent and its anchor learn its size now.
      documentSize -= size
      try count(size, anchor: node.anchor, at: mark)
      attachCompleted(node)
    case YAML_ALIAS_EVENT:
      let name = string(event.data.alias.anchor) ?? ""
      guard var target = anchors[name] else {
        throw YAMLError(
          file: file, mark: mark, reason: .undefinedAlias(name),
          sourceLine: SourceText.line(mark.line, of: text))
      }
      try count(anchorSizes[name] ?? 1, anchor: nil, at: mark)
      // The copy keeps the anchored content but reports the alias's own position.
      target.mark = mark
      target.anchor = nil
      attachCompleted(target)
    default:
      break
    }
  }

  private mutating func count(_ size: Int, anchor: String?, at mark: YAMLMark) throws(YAMLError) {
    documentSize += size
    if !sizes.isEmpty { sizes[sizes.count - 1] += size }
    if let anchor { anchorSizes[anchor] = size }
    guard documentSize <= Self.maximumNodes else {
      throw YAMLError(
        file: file, mark: mark, reason: .tooManyNodes(Self.maximumNodes),
        sourceLine: SourceText.line(mark.line, of: text))
    }
  }

  private mutating func stackPop() throws(YAMLError) -> YAMLNode? {
    guard let frame = stack.popLast() else { return nil }
    switch frame {
    case .sequence(var node, let items):
      node.content = .sequence(items)
      return node
    case .mapping(var node, let pairs, _):
      do {
        node.content = .mapping(try YAMLMerge.apply(pairs))
      } catch {
        throw YAMLError(
          file: file, mark: error.node.mark, reason: .invalidMerge(error.node.kindDescription),
          sourceLine: SourceText.line(error.node.mark.line, of: text))
      }
      return node
    }
  }

  private mutating func attach(_ node: YAMLNode) {
    if let anchor = node.anchor { anchors[anchor] = node }
    attachCompleted(node)
  }

  private mutating func attachCompleted(_ node: YAMLNode) {
    guard let frame = stack.popLast() else {
      documents.append(node)
      return
    }
    switch frame {
    case .sequence(let parent, var items):
      items.append(node)
      stack.append(.sequence(parent, items))
    case .mapping(let parent, var pairs, let pendingKey):
      if let key = pendingKey {
        pairs.append(YAMLPair(key: key, value: node))
        stack.append(.mapping(parent, pairs, pendingKey: nil))
      } else {
        stack.append(.mapping(parent, pairs, pendingKey: node))
      }
    }
  }

  private func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
    pointer.map { String(cString: $0) }
  }

  private func error(of parser: yaml_parser_t) -> YAMLError {
    let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
    if parser.error == YAML_READER_ERROR {
      // Reader errors carry a byte offset, not a mark: the reader decodes ahead of the scanner.
      let mark = YAMLMark(byteOffset: parser.problem_offset, in: text)
      return YAMLError(
        file: file, mark: mark, reason: .encoding(problem), sourceLine: SourceText.line(mark.line, of: text))
    }
    let context = parser.context.map { String(cString: $0) }
    let contextMark = context == nil ? nil : YAMLMark(parser.context_mark)
    // At the end of the stream the problem mark is past the last line; what needs fixing is where
    // the unfinished construct (usually a quote) began.
    let atEnd = problem.contains("end of stream")
    let mark = atEnd ? contextMark ?? YAMLMark(parser.problem_mark) : YAMLMark(parser.problem_mark)
    return YAMLError(
      file: file, mark: mark,
      reason: .syntax(
        problem: problem, context: context, contextMark: contextMark),
      sourceLine: SourceText.line(mark.line, of: text))
  }
}

extension YAMLMark {
  /// libyaml counts lines and columns from 0.
  fileprivate init(_ mark: yaml_mark_t) {
    self.init(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
  }
}

extension YAMLMark {
  /// The line and column (in Unicode scalars, as libyaml counts) of a UTF-8 byte offset.
  fileprivate init(byteOffset: Int, in text: String) {
    var line = 1
    var column = 1
    var offset = 0
    for scalar in text.unicodeScalars {
      if offset >= byteOffset { break }
      offset += UTF8.width(scalar)
      if scalar == "\n" {
        line += 1
        column = 1
      } else {
        column += 1
      }
    }
    self.init(line: line, column: column)
  }
}

extension YAMLScalarStyle {
  fileprivate init(_ style: yaml_scalar_style_t) {
    switch style {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE: self = .singleQuoted
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE: self = .doubleQuoted
    case YAML_LITERAL_SCALAR_STYLE: self = .literal
    case YAML_FOLDED_SCALAR_STYLE: self = .folded
    default: self = .plain
    }
  }
}
