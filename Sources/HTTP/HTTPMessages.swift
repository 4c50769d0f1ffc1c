import Foundation
import RunnerCore

/// An HTTP method; any token is allowed, the common ones have names.
package struct HTTPMethod: Sendable, Hashable, CustomStringConvertible {
  package let rawValue: String

  package init(_ rawValue: String) { self.rawValue = rawValue.uppercased() }

  package static let get = HTTPMethod("GET")
  package static let head = HTTPMethod("HEAD")
  package static let post = HTTPMethod("POST")
  package static let put = HTTPMethod("PUT")
  package static let patch = HTTPMethod("PATCH")
  package static let delete = HTTPMethod("DELETE")

  package var description: String { rawValue }
}

/// A multipart/form-data body: text fields and files streamed from disk by libcurl.
package struct MultipartForm: Sendable, Equatable {
  package enum Part: Sendable, Equatable {
    case field(name: String, value: String)
    /// `filename` defaults to the file's last path component.
    case file(name: String, file: URL, filename: String? = nil, contentType: String? = nil)
  }

  package var parts: [Part]

  package init(_ parts: [Part]) { self.parts = parts }
}

/// What a request sends. Every case can be sent again, which a 307/308 redirect needs.
package enum HTTPRequestBody: Sendable, Equatable {
  case none
  case data(Data)
  /// Streamed from disk; the size is taken when the request starts.
  case file(URL)
  case multipart(MultipartForm)
}

package struct HTTPRequest: Sendable {
  /// Header names that carry credentials unless a request says otherwise. Any name ending in
  /// `-token` (`JOB-TOKEN`, `PRIVATE-TOKEN`) is sensitive as well, whatever this set holds.
  package static let defaultSensitiveHeaderNames: Set<String> = [
    "authorization", "proxy-authorization", "cookie",
  ]

  package var method: HTTPMethod
  package var url: URL
  package var headers: HTTPHeaders
  package var body: HTTPRequestBody
  /// The limit for the whole exchange, redirects included; nil takes the client's default.
  package var timeout: Duration?
  /// Fails the request when no byte arrives for this long; nil takes the client's default.
  package var idleTimeout: Duration?
  /// How many redirects to follow; 0 hands 3xx replies back to the caller.
  package var redirectLimit: Int
  /// Headers dropped when a redirect leads to another scheme, host or port (lowercase names).
  package var sensitiveHeaderNames: Set<String>

  package init(
    method: HTTPMethod = .get,
    url: URL,
    headers: HTTPHeaders = [:],
    body: HTTPRequestBody = .none,
    timeout: Duration? = nil,
    idleTimeout: Duration? = nil,
    redirectLimit: Int = 10,
    sensitiveHeaderNames: Set<String> = HTTPRequest.defaultSensitiveHeaderNames
  ) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.timeout = timeout
    self.idleTimeout = idleTimeout
    self.redirectLimit = redirectLimit
    self.sensitiveHeaderNames = sensitiveHeaderNames
  }

  package func isSensitive(headerName name: String) -> Bool {
    let lowered = name.lowercased()
    return sensitiveHeaderNames.contains(lowered) || lowered.hasSuffix("-token")
  }
}

/// The status line and headers of the final reply, after redirects.
package struct HTTPResponseHead: Sendable, Equatable {
  package var status: Int
  package var headers: HTTPHeaders
  /// The URL that gave this reply: the request's URL, or the last redirect target.
  package var url: URL

  package var isSuccess: Bool { (200..<300).contains(status) }

  /// `Retry-After` as a delay, when given in seconds (the form GitLab and LAVA send).
  package var retryAfter: Duration? {
    guard let value = headers["Retry-After"]?.trimmingCharacters(in: .whitespaces),
      let seconds = Int(value), seconds >= 0
    else { return nil }
    return .seconds(seconds)
  }
}

package struct HTTPResponse: Sendable, Equatable {
  package var head: HTTPResponseHead
  package var body: Data

  package var status: Int { head.status }
  package var headers: HTTPHeaders { head.headers }

  package init(head: HTTPResponseHead, body: Data) {
    self.head = head
    self.body = body
  }
}

/// The outcome of `HTTPClient.download(_:to:)`.
package struct HTTPDownloadResult: Sendable, Equatable {
  package var head: HTTPResponseHead
  /// Bytes written to the file; 0 when the status was not 2xx.
  package var bytesWritten: Int64
  /// For a non-2xx reply: the start of the body (at most 64 KiB), so the caller can show the
  /// server's reason. The file is not kept in that case.
  package var errorBody: Data?
}
