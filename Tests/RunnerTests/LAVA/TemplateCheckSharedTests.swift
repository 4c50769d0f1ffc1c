import Commands
import Foundation
import Protocols
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// Issue 11, finding 11: `validate` and `submit` judge templates with one check, so a
/// definition `validate` calls valid is never refused by `submit` for its template.
@Suite struct TemplateCheckSharedTests {
  static let body = """
    job_name: a
    device_type: qemu
    visibility: public
    timeouts: {job: {minutes: 5}}
    actions: [{boot: {method: qemu}}]

    """

  static let brokenTemplates: [(String, String)] = [
    ("{{> common }}\n", "partials and blocks are not supported"),
    ("{{=<% %>=}}\n", "delimiter changes are not supported"),
    ("# {{#each job.LIST}}x{{/each}}\n", "'each' is not a job variable"),
    ("# {{ job.DEVICE\n", "opens a {{ tag that is never closed"),
    ("# {{#job.A}}\n", "the section '{{#job.A}}' is never closed"),
    ("# {{% CONTENT_TYPE: HTML }}\n", "pragmas are not supported"),
  ]

  static func validate(_ text: String) -> JobDefinitionReport {
    JobDefinitionReport.check(
      paths: ["t.yaml"], read: { _ throws(JobFileError) in text },
      templateDiagnostics: ValidateSubcommand.templateDiagnostics)
  }

  @Test(arguments: 0..<brokenTemplates.count)
  func finding11_validateRejectsEveryTemplateSubmitRejectsWithTheSameMessage(index: Int) {
    let (template, expected) = Self.brokenTemplates[index]
    let text = Self.body + template
    let report = Self.validate(text)
    #expect(!report.allValid)
    let messages = report.diagnostics.map(\.message)
    #expect(messages.contains { $0.contains(expected) }, "\(messages)")
    // The same problems, at the same places, as submit reports them.
    let shared = TemplateCheck.problems(in: text)
    #expect(!shared.isEmpty)
    for problem in shared {
      #expect(
        report.diagnostics.contains {
          $0.mark.line == problem.line && $0.mark.column == problem.column && $0.message == problem.message
        })
    }
  }

  @Test func finding11_validTemplatesStayValid() {
    let text =
      Self.body.replacingOccurrences(of: "job_name: a", with: "job_name: \"a {{ job.CI_JOB_ID }}\"")
      + "# {{#job.OPTIONAL}}on{{/job.OPTIONAL}} {{^job.X}}off{{/job.X}} {{! note }} {{{job.RAW}}}\n"
    #expect(Self.validate(text).allValid, "\(Self.validate(text).rendered(colours: false))")
  }
}
