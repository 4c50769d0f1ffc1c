import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

@Suite struct ScriptTokenizerTests {
  @Test(arguments: [
    ("submit lava-job.yaml", ["submit", "lava-job.yaml"]),
    ("  submit   a\tb  ", ["submit", "a", "b"]),
    ("submit 'boards/rock 5b.yaml'", ["submit", "boards/rock 5b.yaml"]),
    ("submit \"a b\"c'd e'", ["submit", "a bcd e"]),
    ("submit ''", ["submit", ""]),
    ("submit \"\"", ["submit", ""]),
    (#"submit a\ b"#, ["submit", "a b"]),
    (#"submit "say \"hi\"""#, ["submit", #"say "hi""#]),
    (#"submit "keep \n as is""#, ["submit", #"keep \n as is"#]),
    (#"submit 'no \escape'"#, ["submit", #"no \escape"#]),
    (#"submit "\$HOME" $HOME"#, ["submit", "$HOME", "$HOME"]),
    ("submit x # a comment", ["submit", "x"]),
    ("submit a#b", ["submit", "a#b"]),
  ])
  func splitsWordsWithShellQuoting(line: String, words: [String]) throws {
    #expect(try ScriptTokenizer.tokenize(line) == words)
  }

  @Test(arguments: ["", "   ", "\t", "# only a comment", "   # indented comment"])
  func blankAndCommentLinesHaveNoWords(line: String) throws {
    #expect(try ScriptTokenizer.tokenize(line) == [])
  }

  @Test func unbalancedSingleQuotePointsAtItsColumn() {
    #expect(throws: ScriptSyntaxError.unbalancedQuote("'", column: 8, line: "submit 'a b")) {
      try ScriptTokenizer.tokenize("submit 'a b")
    }
  }

  @Test func unbalancedDoubleQuoteMessageShowsTheColumnAndACaret() throws {
    let error = try #require(throws: ScriptSyntaxError.self) {
      try ScriptTokenizer.tokenize(#"submit "x" "y"#)
    }
    #expect(error.column == 12)
    #expect(error.description.hasPrefix("column 12: unbalanced double quote"))
    #expect(error.description.hasSuffix("\n  submit \"x\" \"y\n             ^"))
  }

  @Test func quoteInsideOtherQuoteIsLiteral() throws {
    #expect(try ScriptTokenizer.tokenize(#"submit "it's" 'say "x"'"#) == ["submit", "it's", #"say "x""#])
  }

  @Test func trailingBackslashIsAnError() {
    #expect(throws: ScriptSyntaxError.danglingBackslash(column: 8, line: #"submit \"#)) {
      try ScriptTokenizer.tokenize(#"submit \"#)
    }
  }
}
