import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

extension GitLabUnits {
  @Suite struct GlobPatternTests {
    private func matches(_ pattern: String, _ path: String) throws -> Bool {
      try GlobPattern(pattern).matches(path)
    }

    @Test(arguments: [
      ("*.log", "build.log", true),
      ("*.log", "out/build.log", false),
      ("*", ".hidden", true),
      ("out/*", "out/a", true),
      ("out/*", "out/a/b", false),
      ("out/*.xml", "out/.xml", true),
      ("a*b", "ab", true),
      ("a*b", "a/b", false),
      ("file?.txt", "file1.txt", true),
      ("file?.txt", "file10.txt", false),
      ("dir?x", "dir/x", false),
    ])
    func starAndQuestionMarkStayWithinOneComponent(pattern: String, path: String, expected: Bool)
      throws
    {
      #expect(try matches(pattern, path) == expected)
    }

    @Test(arguments: [
      ("**/*.xml", "report.xml", true),
      ("**/*.xml", "a/b/c/report.xml", true),
      ("a/**/b", "a/b", true),
      ("a/**/b", "a/x/y/b", true),
      ("a/**/b", "a/x/y/c", false),
      ("a/**", "a", true),
      ("a/**", "a/x/y", true),
      ("a/**/", "a", true),
      ("a/**", "ab", false),
      ("**", "any/thing/at/all", true),
      ("a**", "abc", true),
      ("a**", "a/b", false),
      ("a/**.txt", "a/x.txt", true),
      ("a/**.txt", "a/b/x.txt", false),
      ("**/lava/*.json", "results/lava/jobs.json", true),
      ("**/lava/*.json", "lava/jobs.json", true),
    ])
    func doubleStarMatchesWholeDirectories(pattern: String, path: String, expected: Bool) throws {
      #expect(try matches(pattern, path) == expected)
    }

    @Test(arguments: [
      ("[abc].txt", "b.txt", true),
      ("[abc].txt", "d.txt", false),
      ("[a-c].txt", "c.txt", true),
      ("[!a-c].txt", "d.txt", true),
      ("[^a-c].txt", "a.txt", false),
      ("x[/]y", "x/y", false),
      ("[\\]]", "]", true),
      ("{a,b}.txt", "b.txt", true),
      ("{a,b}.txt", "c.txt", false),
      ("{out/*.log,junit/**}", "junit/x/y.xml", true),
      ("{out/*.log,junit/**}", "out/a.log", true),
      ("x{a,{b,c}}y", "xcy", true),
      ("\\*.txt", "*.txt", true),
      ("\\*.txt", "a.txt", false),
    ])
    func classesAlternativesAndEscapes(pattern: String, path: String, expected: Bool) throws {
      #expect(try matches(pattern, path) == expected)
    }

    @Test func malformedPatternsAreRejectedWithTheReason() {
      #expect(throws: GlobPatternError.unclosedClass("a[bc")) { try GlobPattern("a[bc") }
      #expect(throws: GlobPatternError.emptyClass("a[]")) { try GlobPattern("a[]") }
      #expect(throws: GlobPatternError.unclosedBrace("{a,b")) { try GlobPattern("{a,b") }
      #expect(throws: GlobPatternError.danglingEscape("a\\")) { try GlobPattern("a\\") }
      let explosive = String(repeating: "{a,b,c}", count: 8)
      #expect(throws: GlobPatternError.tooManyAlternatives(explosive)) { try GlobPattern(explosive) }
    }

    @Test func errorMessagesNameThePatternAndTheFix() {
      let message = GlobPatternError.unclosedClass("out/[x").description
      #expect(message.contains("out/[x"))
      #expect(message.contains("']'"))
    }
  }
}
