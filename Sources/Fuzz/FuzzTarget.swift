import Foundation

/// One fuzz target: a function that reads arbitrary bytes the way the runner reads what others
/// write, and stops the process (`fuzzCheck`) when a property it states does not hold. A crash
/// or a failed check is a finding; returning is a pass.
struct FuzzTarget: Sendable {
  /// The name on the command line and of the corpus folder `Fuzz/Corpus/<name>`.
  var name: String
  var summary: String
  var run: @Sendable (Data) -> Void

  /// Every target, in the order `make fuzz` runs them.
  static let all: [FuzzTarget] = [
    .scriptTokenizer, .definition, .lavaLog, .jobIDsFile, .definitionTemplate, .jobPayload,
    .dependencyArchive, .secretMasker, .lavaLogScanner, .webSocketFrames, .linearRegex,
  ]

  static func named(_ name: String) -> FuzzTarget? {
    all.first { $0.name == name }
  }
}

/// Stops the process with `message` when `condition` is false: a broken property is a finding
/// like a crash, and libFuzzer (or the replay driver) saves the input that caused it.
func fuzzCheck(
  _ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
  file: StaticString = #fileID, line: UInt = #line
) {
  if !condition() {
    FileHandle.standardError.write(Data("fuzz property failed (\(file):\(line)): \(message())\n".utf8))
    abort()
  }
}
