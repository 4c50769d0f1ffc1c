import CCurl
import Foundation
import RunnerCore

extension HTTPClientError {
  /// Classifies a libcurl failure. `detail` is libcurl's error buffer, which names hosts and
  /// ports but may quote the URL, so the URL's query and userinfo are masked in it.
  package init(curlCode code: CURLcode, detail: String, url: URL) {
    let shownURL = url.maskedForDisplay
    let message = String(cString: curl_easy_strerror(code))
    let text = Self.mask(detail.isEmpty ? message : detail, of: url)
    switch code {
    case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT:
      self = .connectionFailed(url: shownURL, detail: text)
    case CURLE_OPERATION_TIMEDOUT:
      self = .timedOut(url: shownURL, detail: text)
    case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
      CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_CRL_BADFILE,
      CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_ENGINE_NOTFOUND,
      CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CLIENTCERT:
      self = .tls(url: shownURL, detail: text)
    case CURLE_SEND_ERROR where Self.isTLSAlert(text), CURLE_RECV_ERROR where Self.isTLSAlert(text):
      // In TLS 1.3 the client finishes its side of the handshake first; a server that then
      // refuses it (no or an unknown client certificate) sends an alert the next read gets.
      self = .tls(url: shownURL, detail: text)
    case CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
      CURLE_HTTP2, CURLE_HTTP2_STREAM:
      self = .connectionLost(url: shownURL, detail: text)
    case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
      self = .invalidRequest(reason: "\(shownURL): \(text)")
    default:
      self = .curl(code: Int(code.rawValue), message: text, url: shownURL)
    }
  }

  /// A TLS alert from the peer in libcurl's text, e.g. "OpenSSL SSL_read: … tlsv13 alert
  /// certificate required".
  static func isTLSAlert(_ detail: String) -> Bool {
    detail.range(of: #"(ssl|tls)v[0-9]* alert "#, options: [.regularExpression, .caseInsensitive]) != nil
  }

  package static func mask(_ text: String, of url: URL) -> String {
    var result = text
    let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
    for secret in [components?.percentEncodedQuery, components?.password, components?.user] {
      if let secret, !secret.isEmpty {
        result = result.replacingOccurrences(of: secret, with: "<hidden>")
      }
    }
    return result
  }
}
