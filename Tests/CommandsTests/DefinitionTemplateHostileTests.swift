import Foundation
import Protocols
import Testing

@testable import Commands

/// Issue 11, findings 10 and 12: template pragmas and messages about broken templates.
@Suite struct DefinitionTemplateHostileTests {
  static let variables = JobVariables([JobVariable(key: "URL", value: "https://x.example/?a=1&b=<2>\"'")])

  static func failure(_ text: String) -> String? {
    do {
      _ = try DefinitionTemplate(name: "t.yaml", text: text).render(with: variables)
      return nil
    } catch {
      return error.message
    }
  }

  @Test(arguments: ["{{% CONTENT_TYPE: HTML }}", "{{%CONTENT_TYPE:HTML}}", "{{% CONTENT_TYPE: TEXT }}"])
  func finding10_contentTypePragmaIsRejectedSoValuesStayVerbatim(pragma: String) throws {
    let message = try #require(Self.failure("\(pragma)\nu: {{ job.URL }}\n"))
    #expect(message.contains("t.yaml:1:1: '{{%"))
    #expect(message.contains("pragmas are not supported; values are always inserted verbatim"))
  }

  @Test func finding10_valuesAreVerbatimWithoutAnyPragma() throws {
    let rendered = try DefinitionTemplate(name: "t.yaml", text: "u: {{ job.URL }}\n").render(
      with: Self.variables)
    #expect(rendered == "u: https://x.example/?a=1&b=<2>\"'\n")
  }

  @Test func finding12_unclosedSectionNamesItsLineColumnAndTheSectionNotAParserDump() throws {
    let message = try #require(Self.failure("a: 1\nb: x {{#job.URL}}\nc: 2\n"))
    #expect(
      message.contains("t.yaml:2:6: the section '{{#job.URL}}' is never closed; end it with {{/job.URL}}"))
    #expect(!message.contains("ParserError"))
    #expect(!message.contains("MustacheParserContext"))
  }

  @Test func finding12_sectionClosedWithAnotherNameNamesBoth() throws {
    let message = try #require(Self.failure("{{#job.URL}}\nx\n{{/job.OTHER}}\n"))
    #expect(
      message.contains(
        "t.yaml:3:1: '{{/job.OTHER}}' closes a section, but the one open is '{{#job.URL}}' from 1:1"))
    #expect(!message.contains("ParserError"))
  }

  @Test func finding12_closingASectionNeverOpenedIsNamed() throws {
    let message = try #require(Self.failure("x: 1\n  {{/job.URL}}\n"))
    #expect(message.contains("t.yaml:2:3: '{{/job.URL}}' closes a section that was never opened"))
  }
}
