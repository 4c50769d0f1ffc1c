import Foundation
import Testing

@testable import EndToEndBenchmark

/// What the fast run prepares once and reuses: the generated log (cached on disk, written into
/// LAVA's own files) and the pool of queued LAVA jobs.
@Suite struct LogCorpusTests {
  static func scratch() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("e2e-corpus-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
  }

  @Test func theSameSeedMakesTheSameBytesEndingWithTheMarkerLine() {
    let first = LogCorpus(bytes: 200_000, seed: 7)
    let second = LogCorpus(bytes: 200_000, seed: 7)
    #expect(first.text == second.text)
    #expect(first.text != LogCorpus(bytes: 200_000, seed: 8).text)
    #expect(first.bytes >= 200_000 && first.bytes == first.text.count)
    #expect(first.line(first.lineCount - 1).contains(LogCorpus.endMarker(bytes: 200_000, seed: 7)))
    #expect(first.line(0).hasPrefix(#"- {"dt": ""#))
  }

  @Test func lavasIndexHoldsTheStartOfEveryLine() {
    let corpus = LogCorpus(bytes: 50_000, seed: 1)
    let index = corpus.lavaIndex()
    #expect(index.count == corpus.lineCount * 8)
    let starts = stride(from: 0, to: index.count, by: 8).map { offset in
      index[offset..<offset + 8].enumerated().reduce(UInt64(0)) {
        $0 | UInt64($1.element) << (8 * UInt64($1.offset))
      }
    }
    #expect(starts.first == 0)
    for (line, start) in starts.enumerated().dropFirst() {
      #expect(corpus.text[Int(start) - 1] == 10, "line \(line) starts after a newline")
    }
    #expect(starts.map(Int.init) == Array(corpus.offsets.dropLast()))
  }

  @Test func aCachedLogIsReadBackAndACutOneMadeAgain() throws {
    let directory = try Self.scratch()
    defer { try? FileManager.default.removeItem(at: directory) }
    let (made, wasCached) = try LogCorpus.cached(bytes: 100_000, seed: 3, in: directory)
    #expect(!wasCached)
    let (read, readCached) = try LogCorpus.cached(bytes: 100_000, seed: 3, in: directory)
    #expect(readCached)
    #expect(read.text == made.text && read.offsets == made.offsets)
    let file = try #require(try FileManager.default.contentsOfDirectory(atPath: directory.path).first)
    try made.text.prefix(made.bytes / 2).write(to: directory.appendingPathComponent(file))
    let (again, againCached) = try LogCorpus.cached(bytes: 100_000, seed: 3, in: directory)
    #expect(!againCached)
    #expect(again.text == made.text)
  }

  @Test func thePiecesHoldEveryLineOnceInOrder() {
    let corpus = LogCorpus(bytes: 300_000, seed: 5)
    let pieces = corpus.pieces(of: 64 << 10)
    #expect(pieces.count > 3)
    #expect(pieces.joined().map { $0 + "\n" }.joined() == String(decoding: corpus.text, as: UTF8.self))
    #expect(pieces.dropLast().allSatisfy { $0.reduce(0) { $0 + $1.utf8.count + 1 } <= 64 << 10 })
  }
}

@Suite struct JobOutputTests {
  @Test func aJobsDirectoryIsNamedAfterItsSubmitDateAsLAVANamesIt() throws {
    let output = JobOutput(root: URL(fileURLWithPath: "/m/job-output"))
    #expect(
      try output.directory(of: 42, submitTime: "2026-11-30T22:30:01.123456Z").path
        == "/m/job-output/2026/11/30/42")
    #expect(throws: BenchmarkError.self) { try output.directory(of: 42, submitTime: "yesterday") }
  }

  @Test func theLogAndItsIndexArePutWholeAndAJobWithALogIsLeftAlone() throws {
    let root = try LogCorpusTests.scratch()
    defer { try? FileManager.default.removeItem(at: root) }
    let output = JobOutput(root: root)
    let directory = try output.directory(of: 7, submitTime: "2026-01-02T03:04:05Z")
    let corpus = LogCorpus(bytes: 20_000, seed: 2)
    try output.write(corpus, into: directory)
    #expect(try Data(contentsOf: directory.appendingPathComponent("output.yaml")) == corpus.text)
    #expect(try Data(contentsOf: directory.appendingPathComponent("output.idx")) == corpus.lavaIndex())
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == [
        "output.idx", "output.yaml",
      ])
    #expect(throws: BenchmarkError.self) { try output.write(corpus, into: directory) }
  }
}

@Suite struct PreparedJobsTests {
  static let pool = PreparedJobs(deviceType: "bench-queued") {
    "job_name: \($0)\ndevice_type: bench-queued\n"
  }

  @Test func thePoolsJobsAreUsedInIdOrderAndOnlyTheMissingOnesSubmitted() {
    let name = Self.pool.name
    let found: [(id: Int64, description: String)] = [(9, name), (3, name), (5, name)]
    let enough = PreparedJobs.reconcile(found: found, name: name, needed: 2)
    #expect(enough.use == [3, 5])
    #expect(enough.submit == 0)
    let short = PreparedJobs.reconcile(found: found, name: name, needed: 1000)
    #expect(short.use == [3, 5, 9])
    #expect(short.submit == 997)
  }

  @Test func olderPoolsAreCanceledAndOtherRunsJobsNeverTouched() {
    let name = Self.pool.name
    let found: [(id: Int64, description: String)] = [
      (1, name), (2, PreparedJobs.namePrefix + "0123abcd"), (3, "e2e-benchmark-waiting"),
      (4, "someone's job"),
    ]
    let plan = PreparedJobs.reconcile(found: found, name: name, needed: 1)
    #expect(plan.use == [1])
    #expect(plan.cancel == [2])
  }

  @Test func thePoolIsKeyedByTheDefinitionAndTheDeviceType() {
    let other = PreparedJobs(deviceType: "bench-queued") {
      "job_name: \($0)\ndevice_type: bench-queued\npriority: high\n"
    }
    let otherType = PreparedJobs(deviceType: "other") { "job_name: \($0)\ndevice_type: bench-queued\n" }
    #expect(Self.pool.name.hasPrefix(PreparedJobs.namePrefix))
    #expect(
      Self.pool.name
        == PreparedJobs(deviceType: "bench-queued") { "job_name: \($0)\ndevice_type: bench-queued\n" }.name)
    #expect(Set([Self.pool.name, other.name, otherType.name]).count == 3)
    #expect(Self.pool.definition.contains("job_name: \(Self.pool.name)"))
  }
}

@Suite struct LAVATimeTests {
  @Test func lavasTimesAreReadWithOrWithoutFractionsOfASecond() throws {
    let precise = try #require(BenchLAVA.date("2026-11-30T22:49:29.590486Z"))
    let whole = try #require(BenchLAVA.date("2026-11-30T22:49:29Z"))
    #expect(abs(precise.timeIntervalSince(whole) - 0.590) < 0.001)
    #expect(BenchLAVA.date("yesterday") == nil)
  }
}
