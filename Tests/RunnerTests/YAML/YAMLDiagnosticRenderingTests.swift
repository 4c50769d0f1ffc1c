import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

@Suite struct YAMLDiagnosticRenderingTests {
  @Test func theCaretSitsUnderTheColumnAndTabsKeepTheirWidth() {
    let diagnostic = SourceDiagnostic(
      file: "a.yaml", mark: YAMLMark(line: 2, column: 4), message: "bad", sourceLine: "\tab cd")
    #expect(diagnostic.description == "a.yaml:2:4: bad\n    \tab cd\n    \t  ^")
  }

  @Test func coloursAreAddedOnlyWhenAsked() {
    let diagnostic = SourceDiagnostic(file: "a.yaml", mark: YAMLMark(line: 1, column: 1), message: "bad")
    #expect(!diagnostic.rendered(colours: false).contains("\u{1B}"))
    #expect(diagnostic.rendered(colours: true).contains("\u{1B}[31mbad"))
  }

  @Test func sourceLinesAreFoundByNumberWithoutLineBreaks() {
    #expect(SourceText.line(2, of: "one\r\ntwo\r\nthree") == "two")
    #expect(SourceText.line(4, of: "one\ntwo") == nil)
  }
}
