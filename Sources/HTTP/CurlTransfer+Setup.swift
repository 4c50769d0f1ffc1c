import CCurl
import Foundation
import RunnerCore

extension CurlTransfer {
  /// A transfer for one hop of `request`, not yet started. `timeout` is what is left of the
  /// request's total time.
  package static func make(
    for request: HTTPRequest, mode: BodyMode, timeout: Duration?, configuration: HTTPClientConfiguration
  ) throws -> CurlTransfer {
    let url = request.url
    guard let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https", url.host != nil
    else {
      throw HTTPClientError.invalidRequest(
        reason: "\(url.maskedForDisplay) is not an absolute http or https URL")
    }
    guard let easy = curl_easy_init() else {
      throw HTTPClientError.curl(
        code: 0, message: "libcurl could not create a handle (out of memory?)", url: url.maskedForDisplay)
    }
    // From here on the transfer owns the handle; its deinit frees it if setup fails.
    let transfer = CurlTransfer(
      easy: easy, url: url, mode: mode, capturesRedirects: request.redirectLimit > 0)
    try transfer.configure(for: request, timeout: timeout, configuration: configuration)
    return transfer
  }

  private func configure(
    for request: HTTPRequest, timeout: Duration?, configuration: HTTPClientConfiguration
  ) throws {
    let context = Unmanaged.passUnretained(self).toOpaque()
    try set(CURLOPT_URL, request.url.absoluteString)
    try set(CURLOPT_PROTOCOLS_STR, "http,https")
    try set(CURLOPT_NOSIGNAL, 1)
    try set(CURLOPT_ERRORBUFFER, pointer: UnsafeMutableRawPointer(errorBuffer))
    try set(CURLOPT_USERAGENT, configuration.userAgent)
    try set(CURLOPT_BUFFERSIZE, configuration.receiveBufferSize)
    try set(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1)
    try check(
      lr_easy_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION, curlHeaderCallback), "header callback")
    try set(CURLOPT_HEADERDATA, pointer: context)
    try check(lr_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION, curlWriteCallback), "write callback")
    try set(CURLOPT_WRITEDATA, pointer: context)

    try set(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(configuration.connectTimeout))
    if let timeout {
      try set(CURLOPT_TIMEOUT_MS, Self.milliseconds(timeout))
    }
    if let idle = request.idleTimeout ?? configuration.idleTimeout {
      // libcurl measures "below 1 byte/s for N whole seconds"; round up so it never fires early.
      let seconds = max(1, Int((Double(Self.milliseconds(idle)) / 1000).rounded(.up)))
      try set(CURLOPT_LOW_SPEED_LIMIT, 1)
      try set(CURLOPT_LOW_SPEED_TIME, seconds)
    }

    let proxy = configuration.proxy.settings(for: request.url)
    try set(CURLOPT_PROXY, proxy.proxy)
    if let noProxy = proxy.noProxy {
      try set(CURLOPT_NOPROXY, noProxy)
    }
    try configureTLS(configuration.tls)
    try configureBody(of: request)
    try configureHeaders(of: request)
  }

  private func configureTLS(_ tls: HTTPTLSConfiguration) throws {
    if let caBundle = tls.caBundle {
      try set(CURLOPT_CAINFO, caBundle.path)
    }
    if let certificate = tls.clientCertificate {
      try set(CURLOPT_SSLCERT, certificate.path)
    }
    if let key = tls.clientKey {
      try set(CURLOPT_SSLKEY, key.path)
    }
    if tls.insecureSkipVerify {
      try set(CURLOPT_SSL_VERIFYPEER, 0)
      try set(CURLOPT_SSL_VERIFYHOST, 0)
    }
  }

  private func configureBody(of request: HTTPRequest) throws {
    let method = request.method
    switch request.body {
    case .none:
      switch method {
      case .head: try set(CURLOPT_NOBODY, 1)
      case .get: try set(CURLOPT_HTTPGET, 1)
      case .post:
        try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: 0)
        try set(CURLOPT_COPYPOSTFIELDS, "")
      default: try set(CURLOPT_CUSTOMREQUEST, method.rawValue)
      }
      return
    case .data(let data):
      upload = .data(data)
      try configureStreamedBody(size: Int64(data.count))
    case .file(let file):
      let descriptor = open(file.path, O_RDONLY | O_CLOEXEC)
      guard descriptor >= 0 else {
        throw HTTPClientError.fileAccess(path: file.path, detail: String(cString: strerror(errno)))
      }
      upload = .file(descriptor: descriptor, path: file.path)
      var info = stat()
      guard fstat(descriptor, &info) == 0 else {
        throw HTTPClientError.fileAccess(path: file.path, detail: String(cString: strerror(errno)))
      }
      try configureStreamedBody(size: Int64(info.st_size))
    case .multipart(let form):
      try configureMultipart(form)
    }
    if method != .post {
      try set(CURLOPT_CUSTOMREQUEST, method.rawValue)
    }
  }

  private func configureStreamedBody(size: Int64) throws {
    let context = Unmanaged.passUnretained(self).toOpaque()
    try set(CURLOPT_POST, 1)
    try set(CURLOPT_POSTFIELDSIZE_LARGE, offset: size)
    try check(lr_easy_setopt_data_callback(easy, CURLOPT_READFUNCTION, curlReadCallback), "read callback")
    try set(CURLOPT_READDATA, pointer: context)
    try check(lr_easy_setopt_seek_callback(easy, curlSeekCallback), "seek callback")
    try set(CURLOPT_SEEKDATA, pointer: context)
  }

  private func configureMultipart(_ form: MultipartForm) throws {
    guard let mime = curl_mime_init(easy) else {
      throw HTTPClientError.curl(
        code: 0, message: "libcurl could not create a form", url: url.maskedForDisplay)
    }
    self.mime = mime
    for part in form.parts {
      guard let handle = curl_mime_addpart(mime) else {
        throw HTTPClientError.curl(
          code: 0, message: "libcurl could not add a form part", url: url.maskedForDisplay)
      }
      switch part {
      case .field(let name, let value):
        try check(curl_mime_name(handle, name), "form field name")
        try check(curl_mime_data(handle, value, value.utf8.count), "form field value")
      case .file(let name, let file, let filename, let contentType):
        guard FileManager.default.isReadableFile(atPath: file.path) else {
          throw HTTPClientError.fileAccess(path: file.path, detail: "not a readable file")
        }
        try check(curl_mime_name(handle, name), "form part name")
        try check(curl_mime_filedata(handle, file.path), "form file")
        if let filename {
          try check(curl_mime_filename(handle, filename), "form file name")
        }
        if let contentType {
          try check(curl_mime_type(handle, contentType), "form part type")
        }
      }
    }
    try set(CURLOPT_MIMEPOST, pointer: UnsafeMutableRawPointer(mime))
  }

  private func configureHeaders(of request: HTTPRequest) throws {
    var lines: [String] = []
    for field in request.headers {
      guard Self.isValidHeader(name: field.name, value: field.value) else {
        // The value is not quoted: it may be a token.
        throw HTTPClientError.invalidRequest(
          reason: "header \(field.name.debugDescription) has an invalid name or a line break in its value")
      }
      // "Name:" would make libcurl drop the header; "Name;" sends it empty.
      lines.append(field.value.isEmpty ? "\(field.name);" : "\(field.name): \(field.value)")
    }
    // libcurl waits up to a second for "100 Continue" before large bodies; servers rarely send it.
    if !request.headers.contains("Expect") {
      lines.append("Expect:")
    }
    // Without this, libcurl labels raw bodies as form data.
    switch request.body {
    case .data, .file:
      if !request.headers.contains("Content-Type") { lines.append("Content-Type:") }
    case .none, .multipart:
      break
    }
    for line in lines {
      guard let list = curl_slist_append(headerList, line) else {
        throw HTTPClientError.curl(code: 0, message: "out of memory for headers", url: url.maskedForDisplay)
      }
      headerList = list
    }
    try set(CURLOPT_HTTPHEADER, pointer: UnsafeMutableRawPointer(headerList))
  }

  package static func isValidHeader(name: String, value: String) -> Bool {
    let separators = Set(" \t:()<>@,;\\\"/[]?={}\r\n\0".unicodeScalars)
    return !name.isEmpty
      && name.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 32 && !separators.contains($0) }
      && !value.unicodeScalars.contains { $0 == "\r" || $0 == "\n" || $0 == "\0" }
  }

  package static func milliseconds(_ duration: Duration) -> Int {
    let (seconds, attoseconds) = duration.components
    let total = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    return Int(max(1, min(total, Int64(Int32.max))))
  }

  private func set(_ option: CURLoption, _ value: Int) throws {
    try check(lr_easy_setopt_long(easy, option, value), "option \(option.rawValue)")
  }

  private func set(_ option: CURLoption, offset value: Int64) throws {
    try check(lr_easy_setopt_off(easy, option, curl_off_t(value)), "option \(option.rawValue)")
  }

  private func set(_ option: CURLoption, _ value: String) throws {
    try check(lr_easy_setopt_string(easy, option, value), "option \(option.rawValue)")
  }

  private func set(_ option: CURLoption, pointer value: UnsafeMutableRawPointer?) throws {
    try check(lr_easy_setopt_pointer(easy, option, value), "option \(option.rawValue)")
  }

  private func check(_ code: CURLcode, _ what: String) throws {
    guard code == CURLE_OK else {
      throw HTTPClientError.curl(
        code: Int(code.rawValue),
        message: "libcurl refused the \(what): \(String(cString: curl_easy_strerror(code)))",
        url: url.maskedForDisplay)
    }
  }
}
