import Foundation
import Protocols
import RunnerCore

/// Why an HTTP exchange failed. A reply with any status (404, 500) is not an error.
///
/// Messages name the URL without userinfo, query or fragment (presigned artifact URLs carry
/// secrets in the query) and never contain header values.
package enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The request cannot be sent as given (bad URL, header with a line break, ...).
  case invalidRequest(reason: String)
  /// No connection could be made: name resolution, refused connection, proxy.
  case connectionFailed(url: String, detail: String)
  /// The connection broke, or the server closed it, before the reply was complete.
  case connectionLost(url: String, detail: String)
  case timedOut(url: String, detail: String)
  case tls(url: String, detail: String)
  case tooManyRedirects(url: String, limit: Int)
  case bodyTooLarge(url: String, limit: Int)
  /// A local file to upload or download to could not be read or written.
  case fileAccess(path: String, detail: String)
  /// The client was shut down while the request was pending. (Task cancellation surfaces as
  /// `CancellationError` instead.)
  case cancelled(url: String)
  case curl(code: Int, message: String, url: String)

  package var description: String {
    switch self {
    case .invalidRequest(let reason):
      return "HTTP request not sent: \(reason). Fix the request (URL or headers) in the caller."
    case .connectionFailed(let url, let detail):
      return
        "Could not connect for \(url): \(detail). Check the host name, that the server is up, "
        + "and the proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY)."
    case .connectionLost(let url, let detail):
      return
        "The connection for \(url) broke before the reply was complete: \(detail). "
        + "The server or a proxy closed it; retrying may help."
    case .timedOut(let url, let detail):
      return
        "Request to \(url) timed out: \(detail). The server is slow or unreachable; "
        + "retry later or raise the timeout."
    case .tls(let url, let detail):
      return
        "TLS failed for \(url): \(detail). Check the server certificate and the configured "
        + "CA bundle or client certificate."
    case .tooManyRedirects(let url, let limit):
      return "Gave up on \(url) after \(limit) redirects. The server redirects in a loop or too deep."
    case .bodyTooLarge(let url, let limit):
      return
        "The reply from \(url) is larger than the \(limit) bytes allowed in memory. "
        + "Download it to a file or stream it instead."
    case .fileAccess(let path, let detail):
      return "Could not use the file \(path) for an HTTP transfer: \(detail). Check the path and permissions."
    case .cancelled(let url):
      return "Request to \(url) was cancelled because the HTTP client shut down."
    case .curl(let code, let message, let url):
      return "HTTP transfer for \(url) failed: \(message) (libcurl error \(code))."
    }
  }
}

extension HTTPClientError: RetryClassified {
  /// A server that could not be reached, broke the connection or did not answer in time may
  /// answer later; a bad request, a TLS failure or a local problem will not change.
  package var retryability: Retryability {
    switch self {
    case .connectionFailed, .connectionLost, .timedOut: .outage(retryAfter: nil)
    case .invalidRequest, .tls, .tooManyRedirects, .bodyTooLarge, .fileAccess, .cancelled, .curl: .final
    }
  }
}

extension URL {
  /// This URL fit for a message: no userinfo, and the query and fragment replaced by a marker.
  package var maskedForDisplay: String {
    guard var components = URLComponents(url: self, resolvingAgainstBaseURL: false) else {
      return "<unparsable URL>"
    }
    components.user = nil
    components.password = nil
    let hadQuery = components.query != nil
    components.query = nil
    components.fragment = nil
    let base = components.string ?? "<unparsable URL>"
    return hadQuery ? base + "?<query hidden>" : base
  }
}
