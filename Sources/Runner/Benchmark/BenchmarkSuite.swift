import Foundation
import GitLabAPI
import HTTP
import JobEngine
import LAVA
import Protocols
import RunnerCore
import YAML

/// The benchmarks behind `lava-runner benchmark`: each case is timed `repetitions` times in this
/// process against a baseline timed in the same run, and its output is checked once so a fast
/// but wrong result cannot pass for a figure.
struct BenchmarkSuite {
  struct Options: Sendable {
    /// Size of the generated job log.
    var logBytes = 8 << 20
    /// Lines of the all-JSON LAVA log body; the YAML body has a tenth as many.
    var lavaLogLines = 20_000
    var repetitions = 5
    /// Size of the generated LAVA log forwarded end to end.
    var lavaLogPathBytes = 8 << 20
    /// Only the cases named (`masking`, `parsing`, `lava-log-path`); all when empty.
    var only: Set<String> = []
  }

  let options: Options

  func run() throws(BenchmarkError) -> [BenchmarkTable] {
    var tables: [BenchmarkTable] = []
    if options.only.isEmpty || options.only.contains("masking") { tables.append(try jobLogMasking()) }
    if options.only.isEmpty || options.only.contains("parsing") { tables.append(try lavaLogParsing()) }
    if options.only.isEmpty || options.only.contains("lava-log-path") { tables.append(try lavaLogPath()) }
    return tables
  }

  /// The job log path: every line the job writes goes through `SecretMasker.write` before the
  /// spool. Baseline: turning each line into a fresh byte array, the copy every write makes.
  func jobLogMasking() throws(BenchmarkError) -> BenchmarkTable {
    let log = BenchmarkWorkloads.jobLog(bytes: options.logBytes)
    var output: [UInt8] = []
    output.reserveCapacity(log.byteCount)
    let copy = time {
      output.removeAll(keepingCapacity: true)
      for line in log.lines { output.append(contentsOf: Array(line.utf8)) }
    }
    guard output.count == log.byteCount else { throw .wrongOutput("copied log has the wrong size") }
    let masking: (SecretMasker) -> [Duration] = { template in
      time {
        var masker = template
        output.removeAll(keepingCapacity: true)
        for line in log.lines { output.append(contentsOf: masker.write(line.utf8)) }
        output.append(contentsOf: masker.flush())
      }
    }
    let defaults = masking(SecretMasker(secrets: []))
    try expectMasks(log.maskedByDefaults, in: output, case: "defaults only")
    let secrets = masking(SecretMasker(secrets: log.secrets))
    try expectMasks(log.maskedWithSecrets, in: output, case: "10 secrets")
    let megabytes = Double(log.byteCount) / 1_000_000
    return BenchmarkTable(
      title: "Job log masking (\(log.lines.count) lines, \(formatFigure(megabytes)) MB, one write per line)",
      unit: "MB/s",
      baseline: BenchmarkRow(name: "copy each line to bytes (baseline)", work: megabytes, times: copy),
      rows: [
        BenchmarkRow(name: "SecretMasker, default patterns only", work: megabytes, times: defaults),
        BenchmarkRow(name: "SecretMasker, defaults + 10 secrets", work: megabytes, times: secrets),
      ])
  }

  /// LAVA `logs/` replies turned into lines. Baseline: `JSONSerialization` on each line of the
  /// JSON body, the least any JSON reading of it costs.
  func lavaLogParsing() throws(BenchmarkError) -> BenchmarkTable {
    let bodies = BenchmarkWorkloads.lavaLogBodies(
      jsonLines: options.lavaLogLines, yamlLines: max(1, options.lavaLogLines / 10))
    var parsedJSON = 0
    let baseline = time {
      parsedJSON = 0
      for piece in bodies.json.split(separator: UInt8(ascii: "\n")) {
        if (try? JSONSerialization.jsonObject(with: Data(piece.dropFirst(2)))) != nil { parsedJSON += 1 }
      }
    }
    guard parsedJSON == bodies.jsonLineCount else {
      throw .wrongOutput("baseline parsed \(parsedJSON) lines")
    }
    let json = try parse(bodies.json, expecting: bodies.jsonLineCount, case: "JSON lines")
    let yaml = try parse(bodies.yaml, expecting: bodies.yamlLineCount, case: "YAML fallback lines")
    let thousands = Double(bodies.jsonLineCount) / 1000
    return BenchmarkTable(
      title: "LAVA log parsing (\(bodies.jsonLineCount) JSON lines, \(bodies.yamlLineCount) YAML lines)",
      unit: "k lines/s",
      baseline: BenchmarkRow(name: "JSONSerialization per line (baseline)", work: thousands, times: baseline),
      rows: [
        BenchmarkRow(name: "LAVALogParser, JSON lines", work: thousands, times: json),
        BenchmarkRow(
          name: "LAVALogParser, YAML fallback lines", work: Double(bodies.yamlLineCount) / 1000, times: yaml),
      ])
  }

  private func parse(_ body: Data, expecting count: Int, case name: String) throws(BenchmarkError)
    -> [Duration]
  {
    var lines: [LAVALogLine] = []
    let times = time { lines = LAVALogParser.lines(in: body) }
    let entries = lines.count(where: { $0.entry != nil })
    guard lines.count == count, entries == count else {
      throw .wrongOutput("\(name): \(entries) entries in \(lines.count) lines, expected \(count)")
    }
    return times
  }

  private func expectMasks(_ expected: Int, in output: [UInt8], case name: String) throws(BenchmarkError) {
    let mask = Array(SecretMasker.maskText.utf8)
    var found = 0
    var index = 0
    while index + mask.count <= output.count {
      if output[index] == mask[0] && output[index..<(index + mask.count)].elementsEqual(mask) {
        found += 1
        index += mask.count
      } else {
        index += 1
      }
    }
    guard found == expected else {
      throw .wrongOutput("masking (\(name)) hid \(found) values, expected \(expected)")
    }
  }

  func time(_ body: () -> Void) -> [Duration] {
    let clock = ContinuousClock()
    return (0..<max(1, options.repetitions)).map { _ in clock.measure(body) }
  }
}

enum BenchmarkError: Error, CustomStringConvertible {
  case wrongOutput(String)

  var description: String {
    switch self {
    case .wrongOutput(let detail):
      "A benchmark produced wrong output, so its figures mean nothing: \(detail). "
        + "The code under test or the benchmark workload has a bug; run the unit tests."
    }
  }
}

func formatFigure(_ value: Double) -> String {
  let digits = value >= 100 ? 0 : value >= 10 ? 1 : 2
  return String(format: "%.\(digits)f", value)
}
