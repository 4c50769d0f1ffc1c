/// Follows a job's script line by line, so that a runner restarted after its own death can pick
/// the script up where it was (the state directory's job record).
package protocol ScriptProgress: Sendable {
  /// The line a resumed job picks up at (its command resumes from its checkpoint); `nil` on a
  /// first run.
  var resumePoint: ScriptPosition? { get }

  /// Called before each script line runs, the resumed one included: records where the script is
  /// and makes the line's checkpoint store current. Throws when that cannot be recorded.
  func starting(_ position: ScriptPosition) async throws

  /// Called after a script line ended, however it ended.
  func ended(_ position: ScriptPosition) async

  /// The verdict a resumed job's script and after_script had reached before the restart: they
  /// do not run again, the job goes on with its artifacts. `nil`: run the script.
  var concluded: JobVerdict? { get }

  /// The script and after_script have run with `verdict`; the artifacts come next.
  func concluding(_ verdict: JobVerdict) async

  /// The verdict line is about to be written: false when a resumed job's log already has it.
  func writingVerdict(_ verdict: JobVerdict) async -> Bool
}

/// Without a record of the job's end (the state directory's ``RecordedProgress``), the script
/// always runs and every line is written.
extension ScriptProgress {
  package func ended(_ position: ScriptPosition) async {}
  package var concluded: JobVerdict? { nil }
  package func concluding(_ verdict: JobVerdict) async {}
  package func writingVerdict(_ verdict: JobVerdict) async -> Bool { true }
}
