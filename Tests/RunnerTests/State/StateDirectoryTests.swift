import Foundation
import Logging
import Protocols
import Synchronization
import Testing

@testable import GitLabAPI
@testable import JobEngine

/// Keeps every log line with its metadata, to check what the runner's own log says.
final class CapturedLog: LogHandler, Sendable {
  private let lines = Mutex<[String]>([])
  var metadata: Logger.Metadata {
    get { [:] }
    set {}
  }
  var logLevel: Logger.Level {
    get { .trace }
    set {}
  }
  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { nil }
    set {}
  }

  func log(event: LogEvent) {
    let text = "\(event.level) \(event.message) \(event.metadata ?? [:])"
    lines.withLock { $0.append(text) }
  }

  var text: String { lines.withLock { $0.joined(separator: "\n") } }
  var logger: Logger { Logger(label: "test") { _ in self } }
}

@Suite struct StateDirectoryTests {
  static let jobToken = "glcbt-state-test-job-token-0123"
  static let maskedValue = "masked-value-9f8e7d6c"

  func makeURL() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent(
      "state-\(UUID().uuidString)", isDirectory: true)
  }

  func payload(id: Int64 = 4_294_967_301) -> JobPayload {
    JobPayload(
      id: id, token: Self.jobToken, runnerInfo: .init(timeout: 600),
      variables: [JobVariable(key: "LAVA_TOKEN", value: Self.maskedValue, masked: true)],
      steps: [.init(name: "script", script: ["count-test --to 3"])],
      artifacts: [.init(paths: ["*.yaml"], when: "always")])
  }

  func permissions(_ url: URL) throws -> Int {
    try (FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? NSNumber)?.intValue
      ?? -1
  }

  @Test func recordsAreWrittenAtomicallyAndReadableByTheRunnersUserOnly() async throws {
    let url = makeURL()
    defer { try? FileManager.default.removeItem(at: url) }
    let directory = try StateDirectory(url)
    let folder = try directory.newJobFolder(payload().id)
    let state = try JobState(newJob: payload(), folder: folder, logger: CapturedLog().logger)
    try await state.starting(ScriptPosition(item: 0, line: 0, command: "count-test --to 3"))
    try await state.checkpoints.save(2)

    #expect(try permissions(url) == 0o700)
    #expect(try permissions(directory.jobsURL) == 0o700)
    #expect(try permissions(folder) == 0o700)
    #expect(try permissions(state.recordURL) == 0o600)
    // Only the record: the temporary file was renamed into place.
    #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [JobRecord.fileName])

    let read = try JobRecord.decode(Data(contentsOf: state.recordURL))
    #expect(read.payload == payload())
    #expect(read.position == ScriptPosition(item: 0, line: 0, command: "count-test --to 3"))
    let resumed = JobState(resuming: .init(folder: folder, record: read), logger: CapturedLog().logger)
    #expect(try await resumed.checkpoints.restored(Int.self) == 2)
    // A new line starts without the previous line's checkpoint.
    try await resumed.starting(ScriptPosition(item: 1, line: 0, command: "count-test --to 4"))
    #expect(await resumed.checkpoints.restored() == nil)

    state.remove()
    #expect(!FileManager.default.fileExists(atPath: folder.path))
  }

  @Test func anAtomicWriteReplacesTheWholeFileAndLeavesNoTemporaryFile() throws {
    let url = makeURL()
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    let file = url.appendingPathComponent("record.json")
    try StateFile.writeAtomically(Data(repeating: 0x41, count: 10_000), to: file)
    try StateFile.writeAtomically(Data("short".utf8), to: file)
    #expect(try Data(contentsOf: file) == Data("short".utf8))
    #expect(try FileManager.default.contentsOfDirectory(atPath: url.path) == ["record.json"])
    #expect(try permissions(file) == 0o600)
  }

  @Test func aSecondRunnerOnTheSameDirectoryIsRefusedWithAClearMessage() throws {
    let url = makeURL()
    defer { try? FileManager.default.removeItem(at: url) }
    var first: StateDirectory? = try StateDirectory(url)
    #expect(first != nil)
    #expect(throws: StateDirectoryError.locked(path: url.path)) { try StateDirectory(url) }
    #expect(StateDirectoryError.locked(path: url.path).description.contains("in use by another lava-runner"))
    first = nil
    // The lock goes with the process (here: the handle) that held it.
    _ = try StateDirectory(url)
  }

  @Test func aCorruptRecordIsMovedAsideWithAWarningThatHoldsNoSecret() throws {
    let url = makeURL()
    defer { try? FileManager.default.removeItem(at: url) }
    let directory = try StateDirectory(url)
    // Readable id and token, but the rest of the record is wrong: GitLab can still be told.
    let folder = try directory.newJobFolder(42)
    var record =
      try JSONSerialization.jsonObject(
        with: JobRecord(payload: payload(id: 42), startedAt: Date()).encoded()) as! [String: Any]
    record["position"] = "glcbt-not-a-position-\(Self.maskedValue)"
    try JSONSerialization.data(withJSONObject: record).write(
      to: folder.appendingPathComponent(JobRecord.fileName))
    // Cut short: nothing readable.
    let cut = try directory.newJobFolder(43)
    try Data(#"{"payload":{"id":43,"tok"#.utf8).write(to: cut.appendingPathComponent(JobRecord.fileName))

    let log = CapturedLog()
    let (saved, corrupt) = directory.load(logger: log.logger)
    #expect(saved.isEmpty)
    #expect(corrupt.count == 2)
    #expect(corrupt.first?.jobID == 42)
    #expect(corrupt.first?.token == Self.jobToken)
    #expect(corrupt.last?.jobID == nil)
    #expect(corrupt.allSatisfy { FileManager.default.fileExists(atPath: $0.movedTo.path) })
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.jobsURL.path).isEmpty)
    #expect(log.text.contains("corrupt"))
    #expect(!log.text.contains(Self.jobToken))
    #expect(!log.text.contains(Self.maskedValue))
    #expect(!corrupt.map(\.problem).joined().contains(Self.maskedValue))
    // Read once, not at every start.
    #expect(directory.load(logger: log.logger).corrupt.isEmpty)
  }

  @Test func theJobPayloadSurvivesTheRecordUnchanged() throws {
    var job = payload()
    job.dependencies = [
      .init(id: 7, name: "build", token: "glcbt-dep", artifactsFile: .init(filename: "a.zip", size: 9))
    ]
    job.features = .init(
      traceSections: true, tokenMaskPrefixes: ["glpat-"], failureReasons: ["script_failure"])
    let record = JobRecord(payload: job, startedAt: Date(timeIntervalSince1970: 1_700_000_000))
    #expect(try JobRecord.decode(record.encoded()) == record)
  }

  @Test func theRestartNoticeSaysHowLongTheRunnerWasAway() {
    let now = Date(timeIntervalSince1970: 1_700_000_000)
    #expect(JobRunner.away(since: now - 133, now: now) == "2m 13s")
    #expect(JobRunner.away(since: now - 3725, now: now) == "1h 2m 5s")
    #expect(JobRunner.away(since: now - 4, now: now) == "4s")
  }
}

@Suite struct JobRecordOfferPathTests {
  @Test func anOfferedFileInsideTheJobFolderIsKeptRelativeSoTheStateDirectoryMayMove() {
    let folder = URL(fileURLWithPath: "/state/jobs/12")
    let path = JobRecord.offerPath(URL(fileURLWithPath: "/state/jobs/12/work/123_log.yaml"), folder: folder)
    #expect(path == "work/123_log.yaml")
    let moved = URL(fileURLWithPath: "/mnt/state/jobs/12")
    #expect(JobRecord.offeredFile(path, folder: moved).path == "/mnt/state/jobs/12/work/123_log.yaml")
    // Outside the folder, and in records of earlier runners: absolute, as it was.
    #expect(
      JobRecord.offerPath(URL(fileURLWithPath: "/elsewhere/a.txt"), folder: folder) == "/elsewhere/a.txt")
    #expect(JobRecord.offeredFile("/state/jobs/12/work/a", folder: moved).path == "/state/jobs/12/work/a")
  }
}
