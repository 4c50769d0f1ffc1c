import Foundation
import Protocols

/// `monitor-file`'s progress, saved whenever it changes so that a restarted runner resumes it:
/// the jobs' last states seen while waiting (a change is not reported twice), then the jobs
/// whose log and results are saved.
struct MonitorCheckpoint: Sendable, Codable, Equatable {
  enum Phase: String, Sendable, Codable {
    /// Waiting for the jobs to finish (their section is open in the job log).
    case waiting
    /// All have finished: their logs and results are being saved (that section is open).
    case saving
  }

  var phase: Phase
  /// The last state reported of each job; when saving, how each finished.
  var last: [Int64: LAVAJobRecord] = [:]
  /// The jobs whose `<id>_log.yaml` is complete, with what their log said.
  var saved: [Int64: LAVAJobError] = [:]
  /// When the wait began (the watchdogs count from it after a restart too).
  var began: Date?
  /// What the hang watchdogs had seen (LAVA_HANG_TIMEOUT goes on from it after a restart); nil
  /// in the checkpoints of versions that did not save it.
  var liveness: LAVAMonitorWatch.Liveness? = nil

  /// The jobs as last seen.
  func jobs() throws -> [Int64: LAVAJob] {
    try last.mapValues { try $0.job() }
  }

  /// Saves this checkpoint when the runner keeps them.
  func save(in context: any JobContext) async throws {
    guard context.keepsCheckpoints else { return }
    try await context.checkpoints.save(self)
  }
}
