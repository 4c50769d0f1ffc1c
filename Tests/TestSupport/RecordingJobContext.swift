import Foundation
import Protocols
import RunnerCore

/// A job context for tests of commands and of the interpreter: keeps what is written to the
/// log, masked by the runner's own streaming masker as the GitLab trace is, serves dependency
/// files from a dictionary, records offered artifacts.
public final class RecordingJobContext: JobContext, @unchecked Sendable {
  private let lock = NSLock()
  private var offered: [String: URL] = [:]
  private var cancellationState: JobCancellation?
  private var deadlineState: ContinuousClock.Instant?
  private let files: [String: URL]
  private var masks: SecretMasker

  public let recordingLog: RecordingJobLog
  public var log: any JobLog { recordingLog }
  public let variables: JobVariables
  public let workingDirectory: URL
  public let lava: any LAVAConnector
  public let checkpoints: any CheckpointStore

  public init(
    variables: [JobVariable] = [], dependencyFiles: [String: URL] = [:], workingDirectory: URL? = nil,
    lava: any LAVAConnector = NoLAVA(), checkpoints: any CheckpointStore = NoCheckpoints()
  ) {
    self.lava = lava
    self.checkpoints = checkpoints
    self.variables = JobVariables(variables)
    self.masks = SecretMasker(secrets: self.variables.secretValues)
    self.recordingLog = RecordingJobLog(secrets: self.variables.secretValues)
    self.files = dependencyFiles
    self.workingDirectory =
      workingDirectory
      ?? FileManager.default.temporaryDirectory.appendingPathComponent("lava-runner-test-\(UUID())")
  }

  public func dependencyFile(at path: String) async throws -> URL {
    try await dependencyFile(at: path, quietly: false)
  }

  /// Whether finding a dependency file writes a line in the log, as the runner's context does
  /// ("Found PATH in the artifacts of …") unless the command asks `quietly`; off by default.
  public var announcesDependencyFiles: Bool {
    get { lock.withLock { announcing } }
    set { lock.withLock { announcing = newValue } }
  }
  private var announcing = false

  public func dependencyFile(at path: String, quietly: Bool) async throws -> URL {
    guard let url = files[path] else { throw MissingDependencyFile(path: path, known: files.keys.sorted()) }
    if announcesDependencyFiles, !quietly {
      await recordingLog.line("Found \(path) in the artifacts of a dependency", color: .gray)
    }
    return url
  }

  public func mask(_ text: String) -> String {
    lock.withLock { masks }.mask(text)
  }

  public func addMask(_ secret: String) async {
    lock.withLock { masks.addMask(secret) }
    recordingLog.addMask(secret)
  }

  public func makeMasker() -> any StreamMasker { lock.withLock { masks } }

  public func offerArtifact(named name: String, file: URL) async throws {
    lock.withLock { offered[name] = file }
  }

  public var offeredArtifacts: [String: URL] { lock.withLock { offered } }

  public var cancellation: JobCancellation? { lock.withLock { cancellationState } }

  public func cancel(_ how: JobCancellation) { lock.withLock { cancellationState = how } }

  /// The GitLab job's timeout, as the runner sets it from `runner_info.timeout`; nil: unknown.
  public var deadline: ContinuousClock.Instant? { lock.withLock { deadlineState } }

  /// The GitLab job has `time` left from now.
  public func setTimeLeft(_ time: Duration?) { lock.withLock { deadlineState = time.map { .now + $0 } } }
}

public struct MissingDependencyFile: Error, CustomStringConvertible {
  public let path: String
  public let known: [String]
  public var description: String { "\(path) is not among the test's dependency files \(known)" }
}

/// A job log that keeps every write, in order, masked as the GitLab trace is.
public final class RecordingJobLog: JobLog, @unchecked Sendable {
  private let lock = NSLock()
  private var masker: SecretMasker
  private var released: [UInt8] = []

  /// - Parameter secrets: hidden with the runner's masker, with its default token prefixes.
  public init(secrets: [String] = []) {
    masker = SecretMasker(secrets: secrets)
  }

  public func write(_ text: String) async {
    lock.withLock {
      released += masker.write(text.utf8)
      writes += 1
    }
  }

  /// How many writes the log took.
  public var writeCount: Int { lock.withLock { writes } }
  private var writes = 0

  /// Hides `secret` in what is written from now on, and in what is still held back.
  public func addMask(_ secret: String) {
    lock.withLock { masker.addMask(secret) }
  }

  /// The masked bytes written so far, as if the log ended now.
  public var bytes: [UInt8] {
    lock.withLock {
      var copy = masker
      return released + copy.flush()
    }
  }

  /// Everything written so far.
  public var text: String { String(decoding: bytes, as: UTF8.self) }

  /// The text with ANSI colour codes removed, as a reader sees it.
  public var plainText: String {
    text.replacingOccurrences(of: "\u{1B}\\[[0-9;]*[A-Za-z]", with: "", options: .regularExpression)
  }
}

/// A connector for tests that must not reach LAVA.
public struct NoLAVA: LAVAConnector {
  public init() {}

  public func server(url: URL, token: String) throws -> any LAVAServer {
    throw MissingDependencyFile(path: "LAVA server \(url)", known: [])
  }

  public func problems(inDefinition text: String, name: String) async -> [String] { [] }

  public func yamlTree(of text: String, name: String) async throws(YAMLTreeError) -> YAMLTree? {
    try noYAMLReader(text, name)
  }
  public func jobTimeout(inDefinition text: String) async -> Duration? { nil }
}
