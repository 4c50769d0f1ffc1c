import Foundation

/// An HTTP method; any token is allowed, the common ones have names.
struct HTTPMethod: Sendable, Hashable, CustomStringConvertible {
  let rawValue: String

  init(_ rawValue: String) { self.rawValue = rawValue.uppercased() }

  static let get = HTTPMethod("GET")
  static let head = HTTPMethod("HEAD")
  static let post = HTTPMethod("POST")
  static let put = HTTPMethod("PUT")
  static let patch = HTTPMethod("PATCH")
  static let delete = HTTPMethod("DELETE")

  var description: String { rawValue }
}

/// A multipart/form-data body: text fields and files streamed from disk by libcurl.
struct MultipartForm: Sendable, Equatable {
  enum Part: Sendable, Equatable {
    case field(name: String, value: String)
    /// `filename` defaults to the file's last path component.
    case file(name: String, file: URL, filename: String? = nil, contentType: String? = nil)
  }

  var parts: [Part]

  init(_ parts: [Part]) { self.parts = parts }
}

/// What a request sends. Every case can be sent again, which a 307/308 redirect needs.
enum HTTPRequestBody: Sendable, Equatable {
  case none
  case data(Data)
  /// Streamed from disk; the size is taken when the request starts.
  case file(URL)
  case multipart(MultipartForm)
}

struct HTTPRequest: Sendable {
  /// Header names that carry credentials unless a request says otherwise. Any name ending in
  /// `-token` (`JOB-TOKEN`, `PRIVATE-TOKEN`) is sensitive as well, whatever this set holds.
  static let defaultSensitiveHeaderNames: Set<String> = [
    "authorization", "proxy-authorization", "cookie",
  ]

  var method: HTTPMethod
  var url: URL
  var headers: HTTPHeaders
  var body: HTTPRequestBody
  /// The limit for the whole exchange, redirects included; nil takes the client's default.
  var timeout: Duration?
  /// Fails the request when no byte arrives for this long; nil takes the client's default.
  var idleTimeout: Duration?
  /// How many redirects to follow; 0 hands 3xx replies back to the caller.
  var redirectLimit: Int
  /// Headers dropped when a redirect leads to another scheme, host or port (lowercase names).
  var sensitiveHeaderNames: Set<String>

  init(
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

  func isSensitive(headerName name: String) -> Bool {
    let lowered = name.lowercased()
    return sensitiveHeaderNames.contains(lowered) || lowered.hasSuffix("-token")
  }
}

/// The status line and headers of the final reply, after redirects.
struct HTTPResponseHead: Sendable, Equatable {
  var status: Int
  var headers: HTTPHeaders
  /// The URL that gave this reply: the request's URL, or the last redirect target.
  var url: URL

  var isSuccess: Bool { (200..<300).contains(status) }

  /// `Retry-After` as a delay, when given in seconds (the form GitLab and LAVA send).
  var retryAfter: Duration? {
    guard let value = headers["Retry-After"]?.trimmingCharacters(in: .whitespaces),
      let seconds = Int(value), seconds >= 0
    else { return nil }
    return .seconds(seconds)
  }
}

struct HTTPResponse: Sendable, Equatable {
  var head: HTTPResponseHead
  var body: Data

  var status: Int { head.status }
  var headers: HTTPHeaders { head.headers }
}

/// The outcome of `HTTPClient.download(_:to:)`.
struct HTTPDownloadResult: Sendable, Equatable {
  var head: HTTPResponseHead
  /// Bytes written to the file; 0 when the status was not 2xx.
  var bytesWritten: Int64
  /// For a non-2xx reply: the start of the body (at most 64 KiB), so the caller can show the
  /// server's reason. The file is not kept in that case.
  var errorBody: Data?
}
