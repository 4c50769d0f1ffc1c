import Mustache

/// A problem of a job definition template, at a place in it.
public struct TemplateProblem: Sendable, Hashable, Comparable, CustomStringConvertible {
  /// 1-based.
  public var line: Int
  /// 1-based, in characters.
  public var column: Int
  public var message: String

  public init(line: Int, column: Int, message: String) {
    self.line = line
    self.column = column
    self.message = message
  }

  /// `line:column: message`.
  public var description: String { "\(line):\(column): \(message)" }

  public static func < (lhs: TemplateProblem, rhs: TemplateProblem) -> Bool {
    (lhs.line, lhs.column, lhs.message) < (rhs.line, rhs.column, rhs.message)
  }
}

/// The template rules of a LAVA job definition, shared by `submit` (before it renders) and
/// `lava-runner validate` (which has no variables): only `{{ job.NAME }}` (also `{{{ }}}`,
/// `{{& }}`), sections and inverted sections on job variables, and comments; values always
/// inserted verbatim.
public enum TemplateCheck {
  /// Every problem that does not depend on the job's variables, in order; empty when the
  /// template is fine.
  public static func problems(in text: String) -> [TemplateProblem] {
    let tags = DefinitionTemplate.tags(in: text)
    var problems: [TemplateProblem] = []
    var open: [DefinitionTemplate.Tag] = []
    for tag in tags {
      if let message = DefinitionTemplate.syntaxProblem(with: tag) {
        problems.append(TemplateProblem(line: tag.line, column: tag.column, message: message))
        continue
      }
      switch tag.sigil {
      case "#", "^":
        open.append(tag)
      case "/":
        guard let last = open.last else {
          problems.append(
            TemplateProblem(
              line: tag.line, column: tag.column,
              message: "'{{/\(tag.name)}}' closes a section that was never opened"))
          continue
        }
        if last.name == tag.name {
          open.removeLast()
        } else {
          problems.append(
            TemplateProblem(
              line: tag.line, column: tag.column,
              message:
                "'{{/\(tag.name)}}' closes a section, but the one open is '{{\(last.sigil)\(last.name)}}' "
                + "from \(last.line):\(last.column); close that one first with {{/\(last.name)}}"))
          open.removeLast()
        }
      default:
        break
      }
    }
    for tag in open {
      problems.append(
        TemplateProblem(
          line: tag.line, column: tag.column,
          message: "the section '{{\(tag.sigil)\(tag.name)}}' is never closed; end it with {{/\(tag.name)}}"))
    }
    if problems.isEmpty {
      do {
        _ = try parse(text)
      } catch let error as TemplateProblem {
        problems.append(error)
      } catch {
        problems.append(TemplateProblem(line: 1, column: 1, message: "not a valid template: \(error)"))
      }
    }
    return problems.sorted()
  }

  /// Values are inserted verbatim: a definition is YAML, not HTML.
  static let textPragma = "{{% CONTENT_TYPE: TEXT }}"

  /// The parsed template; a mustache error becomes a ``TemplateProblem`` at its place.
  static func parse(_ text: String) throws -> MustacheTemplate {
    do {
      return try MustacheTemplate(string: textPragma + text)
    } catch let error as MustacheTemplate.ParserError {
      let line = error.context.lineNumber
      // The pragma sits before the first line's text.
      let column = max(1, error.context.columnNumber - (line == 1 ? textPragma.count : 0))
      throw TemplateProblem(line: line, column: column, message: message(for: error.error))
    }
  }

  private static func message(for error: any Error) -> String {
    switch error as? MustacheTemplate.Error {
    case .sectionCloseNameIncorrect?: "a section is closed with another name than it was opened with"
    case .unfinishedName?: "a tag name is not finished; write tags as {{ job.NAME }}"
    case .expectedSectionEnd?: "a section is never closed; end it with {{/job.NAME}}"
    default: "not a valid template (\(error))"
    }
  }
}

extension TemplateProblem: Error {}
