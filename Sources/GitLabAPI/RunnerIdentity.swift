import Foundation
import Protocols
import RunnerCore

/// Who the runner says it is in every job request: a stable system id, its version and the
/// features it implements. GitLab acts on the features, so only implemented ones are listed.
package struct RunnerIdentity: Sendable, Equatable {
  package var name: String
  package var systemID: String
  package var features: [String: Bool]

  /// The features lava-runner implements. Each one changes what GitLab sends or expects.
  package static let implementedFeatures: [String: Bool] = [
    "variables": true,
    "artifacts": true,
    // GitLab fails jobs with report artifacts (reports:junit) on runners without it.
    "upload_multiple_artifacts": true,
    // GitLab fails jobs using artifacts:exclude on runners without it.
    "artifacts_exclude": true,
    "multi_build_steps": true,
    "cancelable": true,
    // after_script runs when GitLab cancels gracefully (Job-Status: canceling).
    "cancel_gracefully": true,
    "trace_reset": true,
    "trace_checksum": true,
    "trace_size": true,
    "masking": true,
    "return_exit_code": true,
    // lava-runner clones nothing, so any refspec is fine; without this GitLab withholds
    // jobs of merge-request pipelines.
    "refspecs": true,
    "image": false,
    "services": false,
    "cache": false,
    "shared": false,
    "session": false,
    "terminal": false,
    "proxy": false,
    "vault_secrets": false,
  ]

  package init(name: String, systemID: String, features: [String: Bool] = Self.implementedFeatures) {
    self.name = name
    self.systemID = systemID
    self.features = features
  }

  /// The `info` object of job requests and registrations.
  package var info: GitLabRequestBody.RunnerInfo {
    GitLabRequestBody.RunnerInfo(
      name: "lava-runner", version: RunnerVersion.current, revision: RunnerVersion.revision,
      platform: Self.platform, architecture: Self.architecture, executor: "lava", shell: "lava-runner",
      features: features)
  }

  package static var platform: String {
    #if os(Linux)
      "linux"
    #elseif os(macOS)
      "darwin"
    #else
      "unknown"
    #endif
  }

  package static var architecture: String {
    #if arch(x86_64)
      "amd64"
    #elseif arch(arm64)
      "arm64"
    #else
      "unknown"
    #endif
  }

  /// `s_` and 12 hex digits, stable for a host (from /etc/machine-id, else the host name), as
  /// the official runner's system ids look. GitLab tells runner managers apart by it.
  package static func systemID(
    machineID: String? = try? String(contentsOfFile: "/etc/machine-id", encoding: .utf8),
    hostName: String = ProcessInfo.processInfo.hostName
  ) -> String {
    let seed = machineID?.trimmingCharacters(in: .whitespacesAndNewlines).nonEmpty ?? hostName
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in ("lava-runner:" + seed).utf8 {
      hash ^= UInt64(byte)
      hash &*= 0x0000_0100_0000_01b3
    }
    let hex = String(hash, radix: 16)
    return "s_" + String((String(repeating: "0", count: max(0, 16 - hex.count)) + hex).prefix(12))
  }
}

extension RunnerIdentity {
  /// The system id kept in `file`, as the official runner keeps one in `.runner_system_id`
  /// next to its configuration: the file's id when it exists, else a new random one (`s_` and
  /// 12 hex digits) written there for the next start. Each replica of a deployment gets a file
  /// of its own, so that GitLab sees each as a runner manager of its own.
  package static func systemID(file: URL) throws(SystemIDFileError) -> String {
    let path = file.path
    if FileManager.default.fileExists(atPath: path) {
      let text: String
      do {
        text = try String(contentsOf: file, encoding: .utf8)
      } catch {
        throw .unreadable(path: path, reason: "\(error.localizedDescription)")
      }
      let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
      guard isValidSystemID(id) else { throw .malformed(path: path) }
      return id
    }
    var generator = SystemRandomNumberGenerator()
    let digits = Array("0123456789abcdef")
    let id = "s_" + String((0..<12).map { _ in digits[Int(generator.next() % 16)] })
    do {
      try Data((id + "\n").utf8).write(to: file, options: .atomic)
    } catch {
      throw .unwritable(path: path, reason: "\(error.localizedDescription)")
    }
    return id
  }

  /// GitLab accepts `s_` (from the host) or `r_` (random) and 12 letters or digits.
  package static func isValidSystemID(_ id: String) -> Bool {
    let body = id.utf8.dropFirst(2)
    return (id.hasPrefix("s_") || id.hasPrefix("r_")) && body.count == 12
      && body.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
  }
}

/// A system id file (`--system-id-file`) that cannot be used.
package enum SystemIDFileError: Error, Equatable, CustomStringConvertible {
  case unreadable(path: String, reason: String)
  case malformed(path: String)
  case unwritable(path: String, reason: String)

  package var description: String {
    switch self {
    case .unreadable(let path, let reason):
      "cannot read the system id file \(path): \(reason)"
    case .malformed(let path):
      "the system id file \(path) does not hold a system id (s_ or r_ and 12 letters or digits): "
        + "delete it to have a new one made"
    case .unwritable(let path, let reason):
      "cannot write a new system id to \(path): \(reason); point --system-id-file "
        + "(RUNNER_SYSTEM_ID_FILE) to a writable place, e.g. a volume of the pod"
    }
  }
}

extension String {
  package var nonEmpty: String? { isEmpty ? nil : self }
}
