import Foundation
import RunnerCore

/// How the client reaches the network; one value per client, validated when the client starts.
package struct HTTPClientConfiguration: Sendable {
  package var userAgent: String = "lava-runner/\(RunnerVersion.current)"
  package var connectTimeout: Duration = .seconds(30)
  /// Total limit for a request that sets none; nil means no limit.
  package var timeout: Duration?
  /// Idle limit (no byte received) for a request that sets none; nil means no limit. A body
  /// stream paused for back-pressure is not idle. The default outlasts GitLab's long polls.
  package var idleTimeout: Duration? = .seconds(300)
  /// Parallel connections to one host; 0 means no limit. Requests beyond it wait for a free one.
  package var maxHostConnections: Int = 0
  package var proxy: HTTPProxyConfiguration = .environment(ProcessInfo.processInfo.environment)
  package var tls = HTTPTLSConfiguration()
  /// libcurl's receive buffer: the largest chunk a body stream yields.
  package var receiveBufferSize: Int = 64 << 10
  /// Bytes a body stream buffers before it pauses the transfer until the consumer catches up.
  package var streamBufferLimit: Int = 1 << 20

  package init() {}
}

package struct HTTPTLSConfiguration: Sendable {
  /// PEM bundle of CAs to trust (libcurl's CAINFO). libcurl's CA directory stays in use, and
  /// on Debian that is /etc/ssl/certs: the bundle adds to the system CAs, not replaces them.
  package var caBundle: URL?
  package var clientCertificate: URL?
  package var clientKey: URL?
  /// Skips certificate and host name checks. Only for test setups: it lets anyone in the
  /// middle read the tokens.
  package var insecureSkipVerify = false
}

/// Which proxy a request goes through.
package enum HTTPProxyConfiguration: Sendable {
  /// The conventions of curl and Go: `https_proxy`/`HTTPS_PROXY` for https URLs,
  /// `http_proxy`/`HTTP_PROXY` for http URLs, `all_proxy`/`ALL_PROXY` as the fallback, and
  /// `no_proxy`/`NO_PROXY` (comma-separated hosts or domain suffixes, `*` for all) to bypass.
  /// Read from the given variables rather than by libcurl so that tests need not change the
  /// process environment and uppercase `HTTP_PROXY` is honoured too.
  case environment([String: String])
  case direct
  case explicit(proxy: String, noProxy: String?)

  /// The libcurl CURLOPT_PROXY and CURLOPT_NOPROXY values for `url`; an empty proxy means
  /// a direct connection.
  package func settings(for url: URL) -> (proxy: String, noProxy: String?) {
    switch self {
    case .direct:
      return ("", nil)
    case .explicit(let proxy, let noProxy):
      return (proxy, noProxy)
    case .environment(let environment):
      func lookup(_ name: String) -> String? {
        let value = environment[name.lowercased()] ?? environment[name.uppercased()]
        return value?.isEmpty == false ? value : nil
      }
      let scheme = url.scheme?.lowercased() ?? ""
      let proxy = (scheme == "https" ? lookup("https_proxy") : lookup("http_proxy")) ?? lookup("all_proxy")
      return (proxy ?? "", lookup("no_proxy"))
    }
  }
}
