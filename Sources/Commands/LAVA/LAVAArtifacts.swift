import Foundation
import Protocols

/// `<id>_log.yaml` in the job's working directory, written line by line as lines arrive so that a
/// long log never sits in memory, each line masked.
final class LAVALogFile: @unchecked Sendable {
  // Only the task following the job writes; the lock keeps that true if it ever changes.
  private let lock = NSLock()
  private let handle: FileHandle
  let url: URL
  private let mask: @Sendable (String) -> String

  init(jobID: Int64, in directory: URL, redact: Redactor) throws(CommandFailure) {
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw CommandFailure(.runnerSystemFailure, "cannot create the job's folder \(directory.path): \(error)")
    }
    url = directory.appendingPathComponent(LAVAArtifactNames.log(jobID))
    guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
      throw CommandFailure(.runnerSystemFailure, "cannot create \(url.path) for the raw LAVA log")
    }
    do {
      handle = try FileHandle(forWritingTo: url)
    } catch {
      throw CommandFailure(.runnerSystemFailure, "cannot open \(url.path) for the raw LAVA log: \(error)")
    }
    mask = { redact($0) }
  }

  func append(_ lines: [LAVALogLine]) throws(CommandFailure) {
    guard !lines.isEmpty else { return }
    let text = lines.map { mask($0.raw) + "\n" }.joined()
    do {
      try lock.withLock { try handle.write(contentsOf: Data(text.utf8)) }
    } catch {
      throw CommandFailure(
        .runnerSystemFailure, "cannot write the raw LAVA log to \(url.path) (disk full?): \(error)")
    }
  }

  func close() {
    lock.withLock { try? handle.close() }
  }

  deinit { try? handle.close() }
}

enum LAVAArtifactNames {
  static func log(_ id: Int64) -> String { "\(id)_log.yaml" }
  static func junit(_ id: Int64) -> String { "\(id)_junit.xml" }
}

extension LAVAServer {
  /// Downloads the job's JUnit report to `<id>_junit.xml`, masks it as a stream and offers it as
  /// an artifact. A report that cannot be had is a warning: the verdict comes from the job's
  /// health and test cases, not from this file. So is a report larger than the runner accepts:
  /// its download stops at the limit and no partial file is offered (a cut XML file would only
  /// make GitLab's report parser fail).
  func saveJUnit(of id: Int64, context: any JobContext, redact: Redactor, retrier: LAVARetrier) async {
    do {
      try await downloadAndOfferJUnit(of: id, context: context, redact: redact, retrier: retrier)
    } catch let tooLarge as LAVAReplyTooLarge {
      await context.log.warning(
        "no JUnit report for LAVA job \(id): its results are too large (more than "
          + "\(tooLarge.limitText), the most lava-runner downloads); the download was stopped. "
          + "The job's verdict does not depend on the report; see the results on LAVA.")
    } catch {
      await context.log.warning("no JUnit report for LAVA job \(id): \(redact(error))")
    }
  }

  private func downloadAndOfferJUnit(
    of id: Int64, context: any JobContext, redact: Redactor, retrier: LAVARetrier
  ) async throws {
    let file = context.workingDirectory.appendingPathComponent(LAVAArtifactNames.junit(id))
    try FileManager.default.createDirectory(at: context.workingDirectory, withIntermediateDirectories: true)
    try await retrier.run("the JUnit report of LAVA job \(id)") {
      try await downloadJUnit(of: id, to: file)
    }
    try maskJUnit(file, redact: redact)
    try await context.offerArtifact(named: LAVAArtifactNames.junit(id), file: file)
  }
}

/// The one place a JUnit report is masked, so that the masking can change without its callers.
func maskJUnit(_ file: URL, redact: Redactor) throws {
  try FileMasking.maskInPlace(file, mask: { redact($0) })
}

/// What a LAVA log says about how its job ended: the `lava` suite's `job` result line.
struct LAVAJobError: Sendable, Equatable {
  var type: String?
  var message: String?

  /// Keeps the last `lava`/`job` result with an error (LAVA writes it near the end).
  mutating func note(_ line: LAVALogLine) {
    guard case .result(let fields)? = line.entry?.message, fields["definition"] == "lava",
      fields["case"] == "job", fields["error_type"] != nil || fields["error_msg"] != nil
    else { return }
    type = fields["error_type"]
    message = fields["error_msg"]
  }
}
