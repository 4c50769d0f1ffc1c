import Foundation
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

extension GitLabUnits {
  @Suite struct ArtifactPathMatcherTests {
    private let tree = [
      "build", "build/app.bin", "build/tmp", "build/tmp/cache.o", "build/logs/run.log",
      "results", "results/junit.xml", "results/lava/jobs.json", "results/lava/raw/log.yaml",
      "README.md", ".hidden",
    ]

    @Test func directoryPatternTakesEverythingUnderIt() throws {
      let matcher = try ArtifactPathMatcher(paths: ["build"])
      #expect(
        matcher.select(from: tree) == [
          "build", "build/app.bin", "build/tmp", "build/tmp/cache.o", "build/logs/run.log",
        ])
    }

    @Test func globMatchingADirectoryTakesItsContents() throws {
      let matcher = try ArtifactPathMatcher(paths: ["results/*"])
      #expect(
        matcher.select(from: tree) == [
          "results/junit.xml", "results/lava/jobs.json", "results/lava/raw/log.yaml",
        ])
    }

    @Test func excludeWinsOverPaths() throws {
      let matcher = try ArtifactPathMatcher(paths: ["results"], exclude: ["results/**/*.yaml"])
      #expect(!matcher.matches("results/lava/raw/log.yaml"))
      #expect(matcher.matches("results/lava/jobs.json"))
    }

    @Test func excludeIsNotRecursiveLikeTheOfficialRunner() throws {
      let matcher = try ArtifactPathMatcher(paths: ["build"], exclude: ["build/tmp"])
      #expect(!matcher.matches("build/tmp"))
      #expect(matcher.matches("build/tmp/cache.o"))
      let recursive = try ArtifactPathMatcher(paths: ["build"], exclude: ["build/tmp/**"])
      #expect(!recursive.matches("build/tmp"))
      #expect(!recursive.matches("build/tmp/cache.o"))
      #expect(recursive.matches("build/app.bin"))
    }

    @Test func patternsAndPathsAreCleanedBeforeMatching() throws {
      let matcher = try ArtifactPathMatcher(paths: ["./results//lava/", "x/../README.md"])
      #expect(matcher.matches("results/lava/jobs.json"))
      #expect(matcher.matches("./results/lava/jobs.json"))
      #expect(matcher.matches("README.md"))
      #expect(!matcher.matches("results/junit.xml"))
    }

    @Test func dotTakesTheWholeJobDirectory() throws {
      let matcher = try ArtifactPathMatcher(paths: ["."], exclude: [".hidden"])
      #expect(matcher.select(from: tree) == tree.filter { $0 != ".hidden" })
    }

    @Test func pathsOutsideTheJobDirectoryNeverMatch() throws {
      let matcher = try ArtifactPathMatcher(paths: ["**"])
      #expect(!matcher.matches("../secrets"))
      #expect(!matcher.matches(""))
      #expect(matcher.matches("a/../b"))
    }

    @Test func noPathsMeansNothingIsSelected() throws {
      #expect(try ArtifactPathMatcher(paths: []).select(from: tree).isEmpty)
    }

    @Test func refusesPatternsThatLeaveTheJobDirectory() {
      #expect(throws: ArtifactPatternError.absolute(pattern: "/etc/passwd", role: "paths")) {
        try ArtifactPathMatcher(paths: ["/etc/passwd"])
      }
      #expect(throws: ArtifactPatternError.outsideJobDirectory(pattern: "../x", role: "exclude")) {
        try ArtifactPathMatcher(paths: ["a"], exclude: ["../x"])
      }
      #expect(
        throws: ArtifactPatternError.invalid(pattern: "a[", role: "paths", reason: .unclosedClass("a["))
      ) {
        try ArtifactPathMatcher(paths: ["a["])
      }
    }
  }
}
