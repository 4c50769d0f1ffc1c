import Protocols
import RunnerCore

/// Why `register`, `verify` or `unregister` did not succeed. Messages never hold a token.
package enum RunnerRegistrationError: Error, Sendable, CustomStringConvertible {
  /// 403 on `POST runners`.
  case registrationTokenRejected
  /// 410 on `POST runners`: the instance no longer accepts registration tokens.
  case registrationTokensDisabled
  /// 400/422 on `POST runners`: GitLab refused a setting; `detail` is its masked message.
  case registrationRefused(detail: String)
  /// 401/403 with a runner authentication token.
  case runnerTokenRejected(endpoint: String)
  /// 422 on `runners/verify`: the project or group that owned the runner is gone.
  case runnerOrphaned
  /// 404 on `DELETE runners/managers`: GitLab has no manager with this host's system id.
  case runnerManagerNotFound(systemID: String)
  case gitlab(GitLabError)

  package static let creationWorkflowHelp =
    "create the runner in GitLab (project or group Settings > CI/CD > Runners > New runner, or "
    + "POST /api/v4/user/runners), then check its glrt- token with `lava-runner verify`"

  package var description: String {
    switch self {
    case .registrationTokenRejected:
      "GitLab refused the registration token (403): it is wrong, was reset, or belongs to another "
        + "GitLab instance or project. Copy it again from Settings > CI/CD > Runners, or "
        + Self.creationWorkflowHelp + "."
    case .registrationTokensDisabled:
      "GitLab no longer accepts registration tokens (410 Gone): since GitLab 17.0 they work only "
        + "where an administrator allows them (\"Allow runner registration token\"). Instead, "
        + Self.creationWorkflowHelp + "."
    case .registrationRefused(let detail):
      "GitLab refused to register the runner (400): \(detail). Check --access-level "
        + "(not_protected or ref_protected), --maximum-timeout (600 seconds or more) and "
        + "--maintenance-note (at most 1024 characters)."
    case .runnerTokenRejected(let endpoint):
      "GitLab \(endpoint) refused the runner token (403): the token is wrong or expired, or the "
        + "runner was deleted in GitLab. Check GITLAB_TOKEN against the runner's page in GitLab, "
        + "or create a new runner."
    case .runnerOrphaned:
      "GitLab says the runner is orphaned (422): the project or group that owned it was deleted. "
        + "Delete the runner in GitLab and create a new one."
    case .runnerManagerNotFound(let systemID):
      "GitLab knows no manager with this host's system id \(systemID) for this runner (404): "
        + "this host never ran it, or it was already unregistered. Nothing was removed."
    case .gitlab(let error):
      error.description
    }
  }

  /// Whether trying again later may succeed (GitLab busy or unreachable).
  package var isTransient: Bool {
    if case .gitlab(let error) = self { return error.isTransient }
    return false
  }
}
