import Foundation
import Protocols

/// `submit`'s progress, saved whenever it changes so that a restarted runner resumes it: the
/// intent to submit with the marker put in the definition, then the LAVA job ids, then each
/// log's progress, then the outcomes the results are saved from.
struct SubmitCheckpoint: Sendable, Codable {
  enum Phase: String, Sendable, Codable {
    /// The definition may be on its way to LAVA: find it by ``marker`` before sending it again.
    case submitting
    /// LAVA gave the ids; nothing about them is in the job log yet.
    case submitted
    /// The logs are being followed (their section is open in the job log).
    case following
    /// The logs are complete; the results and the verdict remain.
    case concluding
  }

  var phase: Phase
  /// Nil when the definition's `job_name` could not take one (``LAVAJobMarker/insert(_:into:)``).
  var marker: String?
  var ids: [Int64] = []
  var logs: [Int64: LAVAFollowCheckpoint] = [:]
  var volume: LAVALogVolume.Snapshot?
  var outcomes: [Int64: Outcome] = [:]
  /// The attempts before this one (LAVA_RETRIES), and when this one was submitted.
  var earlier: [LAVAAttempt] = []
  var submitted: Date?

  struct Outcome: Sendable, Codable, Equatable {
    var job: LAVAJobRecord
    var error: LAVAJobError
    var stop: LAVAFollowStop?
    var started: Date?
  }
}

/// The checkpoint a `submit` builds up, saved as a whole on every change; its followers update
/// their own entries concurrently.
actor SubmitProgress {
  private let store: any CheckpointStore
  private let enabled: Bool
  private(set) var state: SubmitCheckpoint

  init(context: any JobContext, state: SubmitCheckpoint) {
    self.store = context.checkpoints
    self.enabled = context.keepsCheckpoints
    self.state = state
  }

  func save(_ state: SubmitCheckpoint) async throws {
    self.state = state
    try await write()
  }

  func following() async throws {
    state.phase = .following
    try await write()
  }

  func log(_ id: Int64, _ progress: LAVAFollowCheckpoint, volume: LAVALogVolume.Snapshot) async throws {
    state.logs[id] = progress
    state.volume = volume
    try await write()
  }

  func concluding(_ outcomes: [Int64: SubmitCheckpoint.Outcome]) async throws {
    state.phase = .concluding
    state.logs = [:]
    state.volume = nil
    state.outcomes = outcomes
    try await write()
  }

  private func write() async throws {
    guard enabled else { return }
    try await store.save(state)
  }
}

extension SubmitCommand {
  /// The LAVA jobs of a submission that may have reached LAVA before the runner restarted,
  /// found by the marker it carried; empty when LAVA has none (send it then).
  func submitted(marker: String?, _ session: LAVACommandSession) async throws -> [Int64] {
    guard let marker else {
      throw CommandFailure(
        .runnerSystemFailure,
        "submit: the runner restarted while it was submitting \(file), whose job_name could not carry "
          + "the marker that finds it in LAVA; it may or may not have reached "
          + "\(session.settings.url.absoluteString): check there and run the job again")
    }
    do {
      return try await session.retrier.run("the search for the LAVA jobs of \(file)") {
        try await session.server.jobs(describedWith: marker)
      }.map(\.id)
    } catch {
      if Task.isCancelled { throw error }
      throw session.failure(
        "cannot find out whether LAVA received \(file) before the runner restarted", error)
    }
  }

  /// The reports of a submission whose logs were complete before the runner restarted: its
  /// log files offered again, its results fetched again.
  func concludedReports(resuming saved: SubmitCheckpoint, _ session: LAVACommandSession, label: String?)
    async throws -> (reports: [LAVAJobReport], started: Date?)
  {
    let context = session.context
    var reports: [LAVAJobReport] = []
    for id in saved.ids {
      guard let outcome = saved.outcomes[id] else { continue }
      let file = context.workingDirectory.appendingPathComponent(LAVAArtifactNames.log(id))
      if FileManager.default.fileExists(atPath: file.path) {
        try await context.offerArtifact(named: LAVAArtifactNames.log(id), file: file)
      }
      reports.append(
        await session.report(
          id, job: try outcome.job.job(), error: outcome.error, stop: outcome.stop, attempt: label))
    }
    return (reports, saved.outcomes.values.compactMap(\.started).min())
  }
  /// `<id>_log.yaml` as the previous runner left it at its last checkpoint, or rebuilt from
  /// LAVA's first `consumed` lines when it is gone.
  func logFile(_ id: Int64, resuming saved: LAVAFollowCheckpoint?, _ session: LAVACommandSession) async throws
    -> LAVALogFile
  {
    let context = session.context
    if let saved,
      let file = LAVALogFile.resume(
        jobID: id, in: context.workingDirectory, length: saved.fileLength, masker: context.makeMasker())
    {
      return file
    }
    let file = try LAVALogFile(jobID: id, in: context.workingDirectory, masker: context.makeMasker())
    var read = 0
    while let saved, read < saved.consumed {
      let lines = try await session.retrier.run("the log of LAVA job \(id) from line \(read)") {
        try await session.server.logLines(of: id, from: read)
      }
      guard !lines.isEmpty else {
        throw CommandFailure(
          .runnerSystemFailure,
          "submit: LAVA job \(id) has fewer log lines (\(read)) than were followed before the runner "
            + "restarted (\(saved.consumed))")
      }
      try file.append(Array(lines.prefix(saved.consumed - read)))
      read += lines.count
    }
    return file
  }
}

/// A finished LAVA job's report as a checkpoint keeps it, for the attempts before the current one.
extension LAVAJobReport: Codable {
  private enum CodingKeys: String, CodingKey {
    case job, url, error, failedTests, testCasesUnavailable, stop, attempt
  }

  private struct TestCase: Codable {
    var suite: String
    var name: String
    var result: String
    var measurement: String?
    var units: String?
  }

  init(from decoder: any Decoder) throws {
    let values = try decoder.container(keyedBy: CodingKeys.self)
    self.init(
      job: try values.decode(LAVAJobRecord.self, forKey: .job).job(),
      url: try values.decode(URL.self, forKey: .url),
      error: try values.decode(LAVAJobError.self, forKey: .error),
      failedTests: try values.decode([TestCase].self, forKey: .failedTests).map {
        LAVATestCase(
          suite: $0.suite, name: $0.name, result: $0.result, measurement: $0.measurement, units: $0.units)
      },
      testCasesUnavailable: try values.decodeIfPresent(String.self, forKey: .testCasesUnavailable),
      stop: try values.decodeIfPresent(LAVAFollowStop.self, forKey: .stop),
      attempt: try values.decodeIfPresent(String.self, forKey: .attempt))
  }

  func encode(to encoder: any Encoder) throws {
    var values = encoder.container(keyedBy: CodingKeys.self)
    try values.encode(LAVAJobRecord(job), forKey: .job)
    try values.encode(url, forKey: .url)
    try values.encode(error.bounded(), forKey: .error)
    try values.encode(
      failedTests.map {
        TestCase(
          suite: $0.suite, name: $0.name, result: $0.result, measurement: $0.measurement, units: $0.units)
      }, forKey: .failedTests)
    try values.encodeIfPresent(testCasesUnavailable, forKey: .testCasesUnavailable)
    try values.encodeIfPresent(stop, forKey: .stop)
    try values.encodeIfPresent(attempt, forKey: .attempt)
  }
}
