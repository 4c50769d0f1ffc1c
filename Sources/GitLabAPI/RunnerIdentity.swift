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

extension String {
  package var nonEmpty: String? { isEmpty ? nil : self }
}
