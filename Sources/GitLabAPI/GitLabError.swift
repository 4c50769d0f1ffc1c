import HTTP
import Protocols

/// Why a call to GitLab's runner API did not give a usable reply. Messages never hold a token.
package enum GitLabError: Error, Sendable, CustomStringConvertible {
  /// The request never got a complete reply (connection, TLS, timeout).
  case transport(endpoint: String, HTTPClientError)
  /// 401/403 on a runner-token call: the token is wrong, or the runner was removed in GitLab.
  case runnerTokenRejected(endpoint: String)
  /// A status the caller has no meaning for; `body` is the start of the reply, masked.
  case unexpectedStatus(endpoint: String, status: Int, body: String)
  /// A 2xx reply whose body is not what GitLab sends.
  case malformedReply(endpoint: String, detail: String)
  /// The task waiting for the reply was cancelled.
  case cancelled(endpoint: String)

  package var description: String {
    switch self {
    case .transport(let endpoint, let error):
      "GitLab \(endpoint): \(error)"
    case .runnerTokenRejected(let endpoint):
      "GitLab \(endpoint) refused the runner token (403): the token is wrong, expired, or the runner "
        + "was deleted in GitLab. Check GITLAB_TOKEN, or register the runner again."
    case .unexpectedStatus(let endpoint, let status, let body):
      "GitLab \(endpoint) answered \(status)" + (body.isEmpty ? "" : ": \(body)")
    case .malformedReply(let endpoint, let detail):
      "GitLab \(endpoint) sent a reply lava-runner cannot read: \(detail)"
    case .cancelled(let endpoint):
      "GitLab \(endpoint): the request was abandoned because the runner stopped waiting for it"
    }
  }

  /// Whether trying again later may succeed: busy or unreachable servers, not refusals.
  package var isTransient: Bool {
    switch self {
    case .transport(_, let error):
      switch error {
      case .invalidRequest, .fileAccess, .bodyTooLarge, .tooManyRedirects, .cancelled: false
      default: true
      }
    case .unexpectedStatus(_, let status, _):
      [408, 409, 425, 429, 500, 502, 503, 504].contains(status)
    case .runnerTokenRejected, .malformedReply, .cancelled:
      false
    }
  }
}
