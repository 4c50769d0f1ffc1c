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
}

extension ScriptProgress {
  package func ended(_ position: ScriptPosition) async {}
}
