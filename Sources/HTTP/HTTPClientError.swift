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
  /// The reply's body went past the size the caller accepts; the transfer was stopped there.
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
      return "TLS with \(Self.hostAndPort(of: url)) failed for \(url): \(Self.tlsReason(detail)) (\(detail))."
    case .tooManyRedirects(let url, let limit):
      return "Gave up on \(url) after \(limit) redirects. The server redirects in a loop or too deep."
    case .bodyTooLarge(let url, let limit):
      return
        "The reply from \(url) is larger than the \(limit) bytes this request accepts; "
        + "the transfer was stopped there."
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

extension HTTPClientError {
  /// What went wrong in a TLS handshake, in words a user can act on, from OpenSSL's text as
  /// libcurl passes it on.
  static func tlsReason(_ detail: String) -> String {
    let text = detail.lowercased()
    let trust = "--tls-ca-file (RUNNER_TLS_CA_FILE)"
    let clientCertificate = "--tls-cert-file and --tls-key-file (RUNNER_TLS_CERT_FILE, RUNNER_TLS_KEY_FILE)"
    if text.contains("certificate has expired") {
      return "the server's certificate has expired; the server must renew it"
    }
    if text.contains("certificate is not yet valid") {
      return
        "the server's certificate is not valid yet; check this machine's clock and the server's certificate"
    }
    if text.contains("no alternative certificate subject name matches")
      || text.contains("does not match target host name") || text.contains("subject name does not match")
    {
      return
        "the server's certificate is for another host name; use the name the certificate is for in the URL"
    }
    if text.contains("unable to get local issuer certificate") || text.contains("self-signed certificate")
      || text.contains("self signed certificate") || text.contains("unable to verify the first certificate")
      || text.contains("unable to get issuer certificate")
    {
      return
        "the server's certificate is not signed by a CA this runner trusts; give the CA that issued it with \(trust)"
    }
    if text.contains("alert certificate required") {
      return "the server requires a client certificate; give one with \(clientCertificate)"
    }
    if text.contains("alert unknown ca") || text.contains("alert bad certificate")
      || text.contains("alert certificate unknown")
    {
      return "the server refused the client certificate; give one it accepts with \(clientCertificate)"
    }
    if text.contains("client cert") || text.contains("private key") || text.contains("unable to set") {
      return "the client certificate or its key could not be used; check \(clientCertificate)"
    }
    if text.contains("cert") && (text.contains("file") || text.contains("ca")) {
      return "the CA bundle could not be used; check \(trust)"
    }
    return "the TLS handshake failed; check that the URL is an HTTPS server and that its certificate is valid"
  }

  /// "host:port" of a URL as `maskedForDisplay` shows it.
  static func hostAndPort(of url: String) -> String {
    guard let components = URLComponents(string: url), let host = components.host else { return url }
    return components.port.map { "\(host):\($0)" } ?? host
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
