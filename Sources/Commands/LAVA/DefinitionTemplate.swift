import Foundation
import Mustache
import Protocols

/// A LAVA job definition with `{{ job.NAME }}` references to the job's CI/CD variables, as the
/// original lava-gitlab-runner's templates wrote them. Values go in verbatim (no HTML escaping);
/// a reference to a variable the job does not have is an error, never an empty string.
struct DefinitionTemplate {
  let name: String
  let text: String

  /// Decodes `data` as UTF-8, naming the first byte that is not.
  init(name: String, data: Data) throws(CommandFailure) {
    self.name = name
    var iterator = data.makeIterator()
    var parser = Unicode.UTF8.ForwardParser()
    var offset = 0
    decoding: while true {
      switch parser.parseScalar(from: &iterator) {
      case .valid(let scalar): offset += scalar.count
      case .emptyInput: break decoding
      case .error:
        throw CommandFailure(
          .scriptFailure,
          "submit: \(name) is not UTF-8 text: byte offset \(offset) (0x\(String(data[data.startIndex + offset], radix: 16))) "
            + "starts an invalid sequence; save the job definition as UTF-8")
      }
    }
    self.text = String(decoding: data, as: UTF8.self)
  }

  init(name: String, text: String) {
    self.name = name
    self.text = text
  }

  /// The definition with every `{{ job.NAME }}` replaced by the variable's value.
  func render(with variables: JobVariables) throws(CommandFailure) -> String {
    var problems = TemplateCheck.problems(in: text)
    for tag in Self.tags(in: text) {
      if let problem = Self.variableProblem(with: tag, variables: variables) {
        problems.append(TemplateProblem(line: tag.line, column: tag.column, message: problem))
      }
    }
    guard problems.isEmpty else {
      throw CommandFailure(
        .scriptFailure,
        "submit: the template \(name) cannot be rendered:\n"
          + problems.sorted().map { "  - \(name):\($0)" }.joined(separator: "\n"))
    }
    let template: MustacheTemplate
    do {
      template = try TemplateCheck.parse(text)
    } catch {
      throw CommandFailure(.scriptFailure, "submit: the template \(name) is not valid: \(name):\(error)")
    }
    var values: [String: String] = [:]
    for variable in variables.all { values[variable.key] = variable.value }
    return template.render(["job": values])
  }

  struct Tag: Equatable {
    /// `{{{`, `{{&`, `{{#`, … : the character after the braces when it is a sigil, else "".
    var sigil: String
    var name: String
    /// 1-based, of the tag's first brace.
    var line: Int
    /// 1-based, in characters.
    var column: Int
  }

  /// Every `{{ … }}` of the text. Mustache itself renders unknown names as nothing; this scan
  /// is what lets a misspelt variable fail the job instead of reaching LAVA empty.
  static func tags(in text: String) -> [Tag] {
    var tags: [Tag] = []
    var line = 1
    var column = 1
    var index = text.startIndex
    while index < text.endIndex {
      if text[index].isNewline {
        line += 1
        column = 1
        index = text.index(after: index)
        continue
      }
      guard text[index...].hasPrefix("{{") else {
        column += 1
        index = text.index(after: index)
        continue
      }
      let open = text.index(index, offsetBy: 2)
      let triple = text[open...].hasPrefix("{")
      let closing = triple ? "}}}" : "}}"
      guard let close = text.range(of: closing, range: open..<text.endIndex) else {
        tags.append(
          Tag(sigil: "unclosed", name: String(text[index...].prefix(40)), line: line, column: column))
        break
      }
      var inner = Substring(text[open..<close.lowerBound])
      var sigil = ""
      if let first = inner.first, "{&#^/!>=<$%".contains(first) {
        sigil = String(first)
        inner = inner.dropFirst()
      }
      if triple, inner.hasSuffix("}") { inner = inner.dropLast() }
      tags.append(
        Tag(sigil: sigil, name: inner.trimmingCharacters(in: .whitespaces), line: line, column: column))
      for character in text[index..<close.upperBound] {
        if character.isNewline {
          line += 1
          column = 1
        } else {
          column += 1
        }
      }
      index = close.upperBound
    }
    return tags
  }

  /// What is wrong with `tag` whatever the job's variables, if anything.
  static func syntaxProblem(with tag: Tag) -> String? {
    switch tag.sigil {
    case "!":
      return nil
    case "unclosed":
      return "'\(tag.name)…' opens a {{ tag that is never closed; close it with }}"
    case "%":
      return "'{{%\(tag.name)}}': pragmas are not supported; values are always inserted verbatim "
        + "(no HTML escaping), so remove this tag"
    case "=":
      return "'{{=\(tag.name)}}': delimiter changes are not supported; write tags as {{ job.NAME }}"
    case ">", "<", "$":
      return "'{{\(tag.sigil)\(tag.name)}}': partials and blocks are not supported; only {{ job.NAME }} "
        + "and sections {{#job.NAME}}…{{/job.NAME}} are"
    default:
      guard tag.name.hasPrefix("job."), tag.name.count > 4 else {
        return "'\(tag.name)' is not a job variable; write {{ job.NAME }} for the CI/CD variable NAME"
      }
      return nil
    }
  }

  /// An unknown variable in a plain tag. Sections ({{#job.X}}…{{/job.X}}) are conditionals: an
  /// unset variable is their point.
  static func variableProblem(with tag: Tag, variables: JobVariables) -> String? {
    guard ["", "{", "&"].contains(tag.sigil), syntaxProblem(with: tag) == nil else { return nil }
    let key = String(tag.name.dropFirst(4))
    if variables[key] != nil { return nil }
    return "unknown variable '\(key)' in {{ \(tag.name) }}: the job has no CI/CD variable of that name"
  }
}
