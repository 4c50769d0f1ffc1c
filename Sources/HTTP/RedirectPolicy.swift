import Foundation
import RunnerCore

/// How the client follows a redirect itself instead of letting libcurl do it: libcurl would
/// send every custom header (`JOB-TOKEN`, `PRIVATE-TOKEN`) on to whatever host the
/// `Location` names.
package enum RedirectPolicy {
  /// The request for the next hop after a redirect reply with `status` pointing at `target`,
  /// or nil when the reply is handed to the caller as it is.
  package static func nextRequest(after request: HTTPRequest, status: Int, target: URL) -> HTTPRequest? {
    guard let scheme = target.scheme?.lowercased(), scheme == "http" || scheme == "https",
      target.host != nil
    else { return nil }
    var next = request
    next.url = target
    switch status {
    case 301, 302, 303:
      // What browsers and curl do: the next hop is a GET without the body.
      if request.method != .head { next.method = .get }
      next.body = .none
      for name in ["Content-Type", "Content-Length", "Content-Encoding"] {
        next.headers.remove(name)
      }
    case 307, 308:
      // Method and body stay; every body kind can be sent again.
      break
    default:
      return nil
    }
    if Origin(request.url) != Origin(target) {
      // Once dropped, credentials stay dropped even if a later hop leads back.
      next.headers.keep { !request.isSensitive(headerName: $0.name) }
    }
    return next
  }

  package struct Origin: Equatable {
    package var scheme: String
    package var host: String
    package var port: Int

    package init(_ url: URL) {
      scheme = url.scheme?.lowercased() ?? ""
      host = url.host?.lowercased() ?? ""
      port = url.port ?? (scheme == "https" ? 443 : 80)
    }
  }
}
