import RunnerCore
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// The hidden `benchmark` command must keep working and keep checking what it measures; its
/// figures are not asserted (speed belongs to Benchmarks/, not to unit tests).
@Suite struct BenchmarkSubcommandTests {
  @Test func benchmarkReportHasATableRowForEveryCaseAndItsBaseline() throws {
    let report = try BenchmarkSubcommand.report(
      options: BenchmarkSuite.Options(
        logBytes: 64 << 10, lavaLogLines: 200, repetitions: 1, lavaLogPathBytes: 64 << 10))
    for row in [
      "copy each line to bytes (baseline)", "SecretMasker, default patterns only",
      "SecretMasker, defaults + 10 secrets", "JSONSerialization per line (baseline)",
      "LAVALogParser, JSON lines", "LAVALogParser, YAML fallback lines", "mask the reply bodies (baseline)",
      "parse + render + mask, as the follower",
    ] {
      #expect(report.contains("| \(row) "), "missing row \(row)")
    }
    #expect(report.contains("Peak resident memory"))
  }

  @Test func generatedJobLogHidesEveryPlantedSecretAndToken() {
    let log = BenchmarkWorkloads.jobLog(bytes: 256 << 10)
    var masker = SecretMasker(secrets: log.secrets)
    var output = log.lines.flatMap { masker.write($0.utf8) }
    output += masker.flush()
    let text = String(decoding: output, as: UTF8.self)
    #expect(log.maskedByDefaults > 0 && log.maskedWithSecrets > log.maskedByDefaults)
    #expect(text.components(separatedBy: SecretMasker.maskText).count - 1 == log.maskedWithSecrets)
    for secret in log.secrets { #expect(!text.contains(secret)) }
  }

  @Test func yamlBodyLinesReallyNeedTheFallback() {
    let bodies = BenchmarkWorkloads.lavaLogBodies(jsonLines: 10, yamlLines: 5)
    let lines = LAVALogParser.lines(in: bodies.yaml)
    #expect(lines.count == 5)
    for line in lines {
      #expect(LAVALogParser.entry(ofJSONLine: line.raw) == nil)
      #expect(line.entry != nil)
    }
  }

  @Test func benchmarkIsHiddenFromHelpButParses() throws {
    #expect(!LavaRunner.helpMessage(columns: 200).contains("benchmark"))
    #expect(throws: (any Error).self) { try BenchmarkSubcommand.parse(["--repetitions", "0"]) }
    let command = try BenchmarkSubcommand.parse(["--log-mebibytes", "2"])
    #expect(command.options.logBytes == 2 << 20)
  }
}
