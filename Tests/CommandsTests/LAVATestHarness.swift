import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands

/// Fast polling for tests: the commands' logic is the same, only the pauses shrink.
let fastPolling = LAVAPolling(
  active: .milliseconds(1), quietMax: .milliseconds(4),
  retry: RetryPolicy(initial: .milliseconds(1), maximum: .milliseconds(4), jitter: 0),
  outageNotice: .milliseconds(50),
  cleanupTimeout: .seconds(5))

let lavaToken = "tok-0123456789abcdef"
let maskedSecret = "s3cr3t-value-xyz"

/// A job context wired to a fake LAVA server, with a LAVA token that is deliberately *not* a
/// masked variable (the commands must keep it out of the log themselves) and one masked secret.
func lavaContext(
  _ fake: FakeLAVAServer, files: [String: String] = [:], variables extra: [JobVariable] = [],
  omit: Set<String> = [], token: String = lavaToken,
  problems: @escaping @Sendable (String) -> [String] = { _ in [] }, jobTimeout: Duration? = nil,
  checkpoints: any CheckpointStore = NoCheckpoints(), directory: URL? = nil,
  jobWatcher: (any LAVAJobWatcher)? = nil
) throws -> RecordingJobContext {
  let directory =
    directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("lava-commands-\(UUID())")
  try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  var dependencies: [String: URL] = [:]
  for (name, text) in files {
    let url = directory.appendingPathComponent("dep-" + name.replacingOccurrences(of: "/", with: "_"))
    try Data(text.utf8).write(to: url)
    dependencies[name] = url
  }
  let base = [
    JobVariable(key: "LAVA_URL", value: "https://lava.example.com/"),
    JobVariable(key: "LAVA_TOKEN", value: token),
    JobVariable(key: "SECRET", value: maskedSecret, masked: true),
    JobVariable(key: "CI_JOB_ID", value: "777", isPublic: true),
  ].filter { !omit.contains($0.key) }
  var connector = FakeLAVAConnector(
    fake, token: token, definitionProblems: problems, definitionJobTimeout: { _ in jobTimeout })
  connector.jobWatcher = jobWatcher
  return RecordingJobContext(
    variables: base + extra, dependencyFiles: dependencies,
    workingDirectory: directory.appendingPathComponent("work"), lava: connector, checkpoints: checkpoints)
}

/// Runs a command and returns the failure it ended with, if any.
func outcome(of run: () async throws -> Void) async -> CommandFailure? {
  do {
    try await run()
    return nil
  } catch let failure as CommandFailure {
    return failure
  } catch {
    return CommandFailure(.unknownFailure, "unexpected error type: \(error)")
  }
}

extension RecordingJobContext {
  func artifactText(_ name: String) throws -> String? {
    guard let url = offeredArtifacts[name] else { return nil }
    return try String(contentsOf: url, encoding: .utf8)
  }

  /// The rendered LAVA log lines of the job log (those with a level tag), without colours.
  var renderedLAVALines: [String] {
    recordingLog.plainText.split(separator: "\n").map(String.init).filter {
      $0.range(
        of: #"^(\[\d+\] )?(\d\d:\d\d:\d\d|        ) (info|dbg |tgt |in  |res |warn|err |exc |fdbk|raw )"#,
        options: .regularExpression)
        != nil
    }
  }
}

/// `count` log lines `target` with text `line N`.
func targetLines(_ count: Int, from first: Int = 1) -> [LAVALogLine] {
  (first..<(first + count)).map { .lava("target", "line \($0)") }
}

let lavaJobPass: LAVALogLine = .result(["definition": "lava", "case": "job", "result": "pass"])

func lavaJobFail(_ type: String, _ message: String) -> LAVALogLine {
  .result(["definition": "lava", "case": "job", "result": "fail", "error_type": type, "error_msg": message])
}

/// Waits (bounded) until `condition` holds, for tests that must act while a command runs.
func eventually(_ condition: () -> Bool) async throws {
  for _ in 0..<5000 {
    if condition() { return }
    try await Task.sleep(for: .milliseconds(2))
  }
}

/// Runs `body`, cancelled after `limit`: a resumed command whose watchdog began again would wait
/// its whole timeout (30 minutes in the resume tests), so a cancelled run is an issue naming it.
func resumedWithin(
  _ limit: Duration = .seconds(60), watchdog: String,
  _ body: @escaping @Sendable () async -> CommandFailure?
) async -> CommandFailure? {
  let run = Task { await body() }
  let bound = Task {
    try await Task.sleep(for: limit)
    run.cancel()
  }
  let failure = await run.value
  bound.cancel()
  #expect(!run.isCancelled, "the resumed command still waited after \(limit): its \(watchdog) began again")
  return failure
}
