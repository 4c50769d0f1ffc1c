import Protocols
import RunnerCore

/// The end of a job in its record: once its script and after_script have run, its verdict, the
/// `artifacts:` entries done with, and where the job log stood when the entry being uploaded
/// and the verdict line began. A runner restarted in this phase does not run the script again
/// (its commands would report, offer and log their results a second time), uploads only what
/// GitLab may not have, and writes no line the log already holds.
package struct JobClosing: Codable, Sendable, Equatable {
  /// Where the job log stood (its length in bytes) before the lines of a step.
  package struct Mark: Codable, Sendable, Equatable {
    package var index: Int
    package var logLength: Int64
  }

  package var state: String
  package var failureReason: String?
  package var exitCode: Int
  package var summary: String
  /// The `artifacts:` entries done with, by their index in the job's payload.
  package var done: [Int] = []
  /// The entry being uploaded.
  package var uploading: Mark?
  /// The job log's length before the verdict line.
  package var verdictAt: Int64?

  package init(_ verdict: JobVerdict) {
    state = verdict.outcome.state.rawValue
    failureReason = verdict.outcome.failureReason?.rawValue
    exitCode = verdict.outcome.exitCode
    summary = verdict.summary
  }

  package var verdict: JobVerdict {
    get {
      guard state == JobOutcome.State.success.rawValue else {
        let reason = failureReason.flatMap(FailureReason.init(rawValue:)) ?? .unknownFailure
        return JobVerdict(outcome: .failed(reason, exitCode: exitCode), summary: summary)
      }
      return JobVerdict(outcome: .success, summary: summary)
    }
    set {
      let updated = JobClosing(newValue)
      (state, failureReason, exitCode, summary) =
        (updated.state, updated.failureReason, updated.exitCode, updated.summary)
    }
  }
}

/// A job's script and artifacts progress kept in its record: the script's line (``JobState``),
/// then its end (``JobClosing``). `resumed` is the record a restarted runner found, and
/// `resumedLogLength` the length of the job log it found (before its restart notice): a step the
/// previous runner began and whose lines the log holds past its mark does not write them again.
package struct RecordedProgress: ScriptProgress, ArtifactProgress {
  package let state: JobState
  private let trace: JobTrace
  private let resumed: JobClosing?
  private let resumedLogLength: Int64

  package init(state: JobState, trace: JobTrace, resumed: JobRecord?) {
    self.state = state
    self.trace = trace
    self.resumed = resumed?.closing
    self.resumedLogLength = trace.length
  }

  // MARK: ScriptProgress

  package var resumePoint: ScriptPosition? { state.resumePoint }

  package func starting(_ position: ScriptPosition) async throws { try await state.starting(position) }

  package func ended(_ position: ScriptPosition) async { await state.ended(position) }

  package var concluded: JobVerdict? { resumed?.verdict }

  package func concluding(_ verdict: JobVerdict) async {
    state.note { $0.closing = JobClosing(verdict) }
  }

  package func writingVerdict(_ verdict: JobVerdict) async -> Bool {
    if let mark = resumed?.verdictAt, resumedLogLength > mark { return false }
    let length = trace.length
    state.note { record in
      if record.closing == nil { record.closing = JobClosing(verdict) }
      record.closing?.verdict = verdict
      record.closing?.verdictAt = length
    }
    return true
  }

  // MARK: ArtifactProgress

  package func isDone(_ index: Int) -> Bool { resumed?.done.contains(index) ?? false }

  package func starting(_ index: Int) async -> Bool {
    if let mark = resumed?.uploading, mark.index == index, resumedLogLength > mark.logLength { return true }
    let length = trace.length
    state.note { $0.closing?.uploading = JobClosing.Mark(index: index, logLength: length) }
    return false
  }

  package func done(_ index: Int) async {
    state.note { record in
      if record.closing?.done.contains(index) == false { record.closing?.done.append(index) }
      record.closing?.uploading = nil
    }
  }
}
