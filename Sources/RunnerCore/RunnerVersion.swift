import Protocols

/// The version lava-runner reports: `--version`, the runner info sent to GitLab, the User-Agent.
package enum RunnerVersion {
  package static let current = "0.1.0"
  /// The source revision sent to GitLab in the runner info; release packaging may set it.
  package static let revision = "unknown"
}
