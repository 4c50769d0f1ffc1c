import CYAML

/// Bounds on what one parse may read and build, the same for `validate`, `submit` and LAVA log
/// lines: a hostile text fails with an error that says which bound it passed, instead of taking
/// the memory, time or stack of the runner that serves every other job.
package struct YAMLLimits: Sendable, Hashable {
  /// Bytes of UTF-8 text. LAVA job definitions are a few KiB.
  package var maximumBytes = 16 * 1024 * 1024
  /// Nodes (scalars, lists, mappings) of all the documents of a text, each alias counted as the
  /// copy it stands for.
  package var maximumNodes = 1_000_000
  /// Lists and mappings nested in one another, aliases counted at their full depth. LAVA job
  /// definitions nest a handful of levels; code that walks a tree may recurse once per level.
  package var maximumDepth = 256

  package static let standard = YAMLLimits()
}

/// Reads YAML with libyaml's event API into `YAMLNode` trees that remember where each node starts.
package enum YAMLParser {
  /// The first document of `text`, or nil when the text holds none; what follows it is not read.
  /// This is the entry point for short texts such as one LAVA log line.
  package static func parse(
    _ text: String, file: String = "<string>", limits: YAMLLimits = .standard
  ) throws(YAMLError) -> YAMLNode? {
    try read(text, file: file, limits: limits, firstOnly: true).first
  }

  /// Every document of `text`, in order; empty when the text holds none.
  package static func parseDocuments(
    _ text: String, file: String = "<string>", limits: YAMLLimits = .standard
  ) throws(YAMLError) -> [YAMLNode] {
    try read(text, file: file, limits: limits, firstOnly: false)
  }

  private static func read(
    _ text: String, file: String, limits: YAMLLimits, firstOnly: Bool
  ) throws(YAMLError) -> [YAMLNode] {
    var source = text
    let result: Result<[YAMLNode], YAMLError> = source.withUTF8 { bytes in
      var builder = TreeBuilder(text: text, file: file, limits: limits)
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
///
/// Linear in the text: each container being read is a frame whose lists grow in place, and an
/// alias is a copy of the anchored node that shares its storage (nodes are values with
/// copy-on-write arrays), so it costs O(1) however large the anchored node is.
private struct TreeBuilder {
  private struct Frame {
    /// Mark, tag and anchor; the content is set when the container ends.
    package var node: YAMLNode
    package var isMapping: Bool
    package var items: [YAMLNode] = []
    package var pairs: [YAMLPair] = []
    package var pendingKey: YAMLNode?
    /// Nodes in this container, itself included and aliases counted as the copies they stand for.
    package var size = 1
    /// Levels of lists and mappings, itself included.
    package var height = 1
  }

  private struct Anchored {
    package var node: YAMLNode
    package var size: Int
    package var height: Int
  }

  package let text: String
  package let file: String
  package let limits: YAMLLimits
  package private(set) var documents: [YAMLNode] = []
  private var stack: [Frame] = []
  private var anchors: [String: Anchored] = [:]
  /// Nodes read so far with aliases expanded, so that aliases of aliases (a "billion laughs"
  /// text) are refused before any walk over the tree becomes exponential, and a stream of
  /// millions of tiny documents is refused too.
  private var nodeCount = 0

  package init(text: String, file: String, limits: YAMLLimits) {
    self.text = text
    self.file = file
    self.limits = limits
  }

  package mutating func run(_ bytes: UnsafeBufferPointer<UInt8>, firstOnly: Bool) throws(YAMLError) {
    guard bytes.count <= limits.maximumBytes else {
      throw YAMLError(
        file: file, mark: YAMLMark(line: 1, column: 1),
        reason: .tooLarge(bytes: bytes.count, limit: limits.maximumBytes), sourceLine: nil)
    }
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
    case YAML_SCALAR_EVENT:
      let data = event.data.scalar
      let value = String(decoding: UnsafeBufferPointer(start: data.value, count: data.length), as: UTF8.self)
      let node = YAMLNode(
        .scalar(YAMLScalar(value: value, style: YAMLScalarStyle(data.style))),
        mark: mark, tag: string(data.tag), anchor: string(data.anchor))
      try count(1, at: mark)
      attach(node, size: 1, height: 0)
    case YAML_SEQUENCE_START_EVENT:
      let data = event.data.sequence_start
      try open(
        YAMLNode(.sequence([]), mark: mark, tag: string(data.tag), anchor: string(data.anchor)),
        isMapping: false)
    case YAML_MAPPING_START_EVENT:
      let data = event.data.mapping_start
      try open(
        YAMLNode(.mapping([]), mark: mark, tag: string(data.tag), anchor: string(data.anchor)),
        isMapping: true)
    case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
      guard let frame = stack.popLast() else { return }
      attach(try close(frame), size: frame.size, height: frame.height)
    case YAML_ALIAS_EVENT:
      let name = string(event.data.alias.anchor) ?? ""
      guard let anchored = anchors[name] else {
        throw YAMLError(
          file: file, mark: mark, reason: .undefinedAlias(name),
          sourceLine: SourceText.line(mark.line, of: text))
      }
      try checkDepth(stack.count + anchored.height, at: mark, alias: name)
      try count(anchored.size, at: mark)
      // The copy keeps the anchored content but reports the alias's own position.
      var copy = anchored.node
      copy.mark = mark
      copy.anchor = nil
      copy.alias = name
      attach(copy, size: anchored.size, height: anchored.height)
    default:
      break
    }
  }

  private mutating func open(_ node: YAMLNode, isMapping: Bool) throws(YAMLError) {
    try checkDepth(stack.count + 1, at: node.mark)
    try count(1, at: node.mark)
    stack.append(Frame(node: node, isMapping: isMapping))
  }

  private func checkDepth(_ depth: Int, at mark: YAMLMark, alias: String? = nil) throws(YAMLError) {
    guard depth > limits.maximumDepth else { return }
    throw YAMLError(
      file: file, mark: mark, reason: .tooDeep(limits.maximumDepth, alias: alias),
      sourceLine: SourceText.line(mark.line, of: text))
  }

  private mutating func count(_ size: Int, at mark: YAMLMark) throws(YAMLError) {
    nodeCount += size
    guard nodeCount <= limits.maximumNodes else {
      throw YAMLError(
        file: file, mark: mark, reason: .tooManyNodes(limits.maximumNodes),
        sourceLine: SourceText.line(mark.line, of: text))
    }
  }

  /// The finished container of `frame`, with merge keys applied.
  private func close(_ frame: Frame) throws(YAMLError) -> YAMLNode {
    var node = frame.node
    guard frame.isMapping else {
      node.content = .sequence(frame.items)
      return node
    }
    do {
      node.content = .mapping(try YAMLMerge.apply(frame.pairs))
    } catch {
      throw YAMLError(
        file: file, mark: error.node.mark, reason: .invalidMerge(error.node.kindDescription),
        sourceLine: SourceText.line(error.node.mark.line, of: text))
    }
    return node
  }

  /// Adds a finished node to the container being read (in place), or to the documents.
  private mutating func attach(_ node: YAMLNode, size: Int, height: Int) {
    if let anchor = node.anchor { anchors[anchor] = Anchored(node: node, size: size, height: height) }
    guard !stack.isEmpty else {
      documents.append(node)
      return
    }
    let top = stack.count - 1
    stack[top].size += size
    stack[top].height = max(stack[top].height, height + 1)
    if !stack[top].isMapping {
      stack[top].items.append(node)
    } else if let key = stack[top].pendingKey {
      stack[top].pairs.append(YAMLPair(key: key, value: node))
      stack[top].pendingKey = nil
    } else {
      stack[top].pendingKey = node
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
