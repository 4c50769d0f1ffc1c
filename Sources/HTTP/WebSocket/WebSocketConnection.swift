import CCurl
import Foundation
import Synchronization

/// What a websocket yields: `open` once the handshake is done, then each message.
package enum WebSocketEvent: Sendable, Equatable {
  case open
  case text(String)
  case binary([UInt8])
}

/// A websocket client over libcurl's CONNECT_ONLY mode (Debian's libcurl 7.88 has no websocket
/// support of its own): libcurl connects, does TLS and goes through the proxy exactly as for the
/// runner's other requests; this type writes the HTTP/1.1 upgrade request, checks the reply
/// (`101`, `Upgrade: websocket`, the `Sec-WebSocket-Accept` of RFC 6455 §4.2.2) and reads and
/// writes frames with `curl_easy_recv`/`curl_easy_send`.
///
/// Each connection runs on a thread of its own (one per LAVA server per process): blocking
/// calls there do not hold the cooperative pool. Pings are answered; a silent server is pinged
/// every `pingInterval` and dropped after two silent intervals.
package enum WebSocketConnection {
  package struct Options: Sendable {
    /// Connecting and the whole handshake reply, together.
    package var handshakeTimeout: Duration = .seconds(10)
    package var maxMessageSize = 1 << 20
    package var pingInterval: Duration = .seconds(30)
    package init() {}
  }

  /// Connects to `url` (http, https, ws or wss) and yields `.open` then every message; the
  /// stream ends with a ``WebSocketError`` when the connection fails or ends, and closes the
  /// connection (with a close frame) when its consumer stops iterating.
  package static func events(
    url: URL, configuration: HTTPClientConfiguration, options: Options = Options()
  ) -> AsyncThrowingStream<WebSocketEvent, any Error> {
    let (stream, continuation) = AsyncThrowingStream<WebSocketEvent, any Error>.makeStream(
      bufferingPolicy: .bufferingNewest(256))
    let session = WebSocketSession(url: url, configuration: configuration, options: options)
    continuation.onTermination = { _ in session.stop() }
    let thread = Thread {
      // Closed here when the client gives up, not when the consumer (maybe waiting for a busy
      // cooperative pool) releases the stream: the server sees the timeout when it happens.
      defer { session.close() }
      do {
        try session.run { continuation.yield($0) }
        continuation.finish()
      } catch {
        continuation.finish(throwing: error)
      }
    }
    thread.name = "lava-runner websocket"
    thread.start()
    return stream
  }

  /// The `Sec-WebSocket-Accept` value a server must answer to `key`.
  package static func acceptValue(for key: String) -> String {
    Data(SHA1.digest(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))).base64EncodedString()
  }
}

/// One connection's state, touched only by its thread except for the stop flag.
private final class WebSocketSession: @unchecked Sendable {
  let url: URL
  let configuration: HTTPClientConfiguration
  let options: WebSocketConnection.Options
  private let stopped = Atomic<Bool>(false)
  private var easy: UnsafeMutableRawPointer?
  private var socket: Int32 = -1
  private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(lr_error_size()))

  init(url: URL, configuration: HTTPClientConfiguration, options: WebSocketConnection.Options) {
    self.url = url
    self.configuration = configuration
    self.options = options
    errorBuffer.initialize(repeating: 0, count: Int(lr_error_size()))
  }

  deinit {
    if let easy { curl_easy_cleanup(easy) }
    errorBuffer.deallocate()
  }

  func stop() { stopped.store(true, ordering: .relaxed) }

  /// Closes the connection; called by the session's thread once `run` has returned.
  func close() {
    if let easy { curl_easy_cleanup(easy) }
    easy = nil
  }
  private var isStopped: Bool { stopped.load(ordering: .relaxed) }

  func run(_ yield: (WebSocketEvent) -> Void) throws {
    let clock = ContinuousClock()
    let deadline = clock.now + options.handshakeTimeout
    try connect()
    let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    try send(Array(handshakeRequest(key: key).utf8), until: deadline)
    var reader = WebSocketFrameReader(maxMessageSize: options.maxMessageSize)
    reader.append(try readHandshakeReply(key: key, until: deadline))
    yield(.open)
    var lastReceived = clock.now
    var pinged = false
    var chunk = [UInt8](repeating: 0, count: 64 << 10)
    while !isStopped {
      // Frames already read (the handshake reply may have brought some) before waiting for more.
      while let item = try reader.next() {
        switch item {
        case .text(let text): yield(.text(text))
        case .binary(let bytes): yield(.binary(bytes))
        case .ping(let payload):
          try send(WebSocketFrameWriter.frame(opcode: WebSocketFrameWriter.pong, payload: payload))
        case .pong: break
        case .close(let code, let reason):
          let echo = code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } ?? []
          try? send(WebSocketFrameWriter.frame(opcode: WebSocketFrameWriter.close, payload: echo))
          throw WebSocketError.closedByServer(code: code, reason: reason)
        }
      }
      let count = try receive(into: &chunk)
      if count > 0 {
        reader.append(chunk[0..<count])
        lastReceived = clock.now
        pinged = false
        continue
      }
      let silence = clock.now - lastReceived
      if silence >= options.pingInterval * 2 {
        throw WebSocketError.connectionLost("no reply to a ping")
      }
      if silence >= options.pingInterval && !pinged {
        pinged = true
        try send(WebSocketFrameWriter.frame(opcode: WebSocketFrameWriter.ping, payload: []))
      }
      try wait(for: Int16(POLLIN), milliseconds: 200)
    }
    // The consumer went away: say goodbye (1000, normal closure), without waiting for the echo.
    try? send(WebSocketFrameWriter.frame(opcode: WebSocketFrameWriter.close, payload: [0x03, 0xE8]))
  }

  // MARK: libcurl

  private func connect() throws {
    guard let easy = curl_easy_init() else {
      throw WebSocketError.connectFailed("libcurl could not create a handle")
    }
    self.easy = easy
    var components = URLComponents(url: url, resolvingAgainstBaseURL: true)
    switch components?.scheme?.lowercased() {
    case "ws", "http": components?.scheme = "http"
    case "wss", "https": components?.scheme = "https"
    default: throw WebSocketError.connectFailed("\(url.maskedForDisplay) is not an http(s) or ws(s) URL")
    }
    guard let target = components?.url, target.host != nil else {
      throw WebSocketError.connectFailed("\(url.maskedForDisplay) names no host")
    }
    try set(CURLOPT_URL, target.absoluteString)
    try set(CURLOPT_PROTOCOLS_STR, "http,https")
    try set(CURLOPT_CONNECT_ONLY, 1)
    try set(CURLOPT_NOSIGNAL, 1)
    try check(lr_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)))
    let milliseconds = max(
      1,
      Int(
        options.handshakeTimeout.components.seconds * 1000 + options.handshakeTimeout.components.attoseconds
          / 1_000_000_000_000_000))
    try set(CURLOPT_CONNECTTIMEOUT_MS, milliseconds)
    let proxy = configuration.proxy.settings(for: target)
    try set(CURLOPT_PROXY, proxy.proxy)
    if let noProxy = proxy.noProxy { try set(CURLOPT_NOPROXY, noProxy) }
    // Through an HTTP proxy the upgrade needs a tunnel: the proxy must not read the frames.
    if !proxy.proxy.isEmpty { try set(CURLOPT_HTTPPROXYTUNNEL, 1) }
    let tls = configuration.tls
    if let caBundle = tls.caBundle { try set(CURLOPT_CAINFO, caBundle.path) }
    if let certificate = tls.clientCertificate { try set(CURLOPT_SSLCERT, certificate.path) }
    if let key = tls.clientKey { try set(CURLOPT_SSLKEY, key.path) }
    if tls.insecureSkipVerify {
      try set(CURLOPT_SSL_VERIFYPEER, 0)
      try set(CURLOPT_SSL_VERIFYHOST, 0)
    }
    let code = curl_easy_perform(easy)
    guard code == CURLE_OK else { throw WebSocketError.connectFailed(curlMessage(code)) }
    var fd: curl_socket_t = -1
    guard lr_easy_getinfo_socket(easy, &fd) == CURLE_OK, fd >= 0 else {
      throw WebSocketError.connectFailed("libcurl gave no socket")
    }
    socket = fd
  }

  private func handshakeRequest(key: String) -> String {
    var path = url.path(percentEncoded: true)
    if path.isEmpty { path = "/" }
    var host = url.host(percentEncoded: true) ?? ""
    if host.contains(":") { host = "[\(host)]" }
    if let port = url.port { host += ":\(port)" }
    return "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
      + "User-Agent: \(configuration.userAgent)\r\n\r\n"
  }

  /// Reads the reply head and checks it; returns the bytes after it (the first frames).
  private func readHandshakeReply(key: String, until deadline: ContinuousClock.Instant) throws -> [UInt8] {
    var head: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    let end: [UInt8] = Array("\r\n\r\n".utf8)
    while true {
      if let range = head.firstRange(of: end) {
        try checkReply(String(decoding: head[..<range.lowerBound], as: UTF8.self), key: key)
        return Array(head[range.upperBound...])
      }
      guard head.count <= 16 << 10 else {
        throw WebSocketError.badHandshake("the reply head is larger than 16 KiB")
      }
      if isStopped { throw CancellationError() }
      let count = try receive(into: &chunk)
      if count > 0 {
        head += chunk[0..<count]
        continue
      }
      let left = deadline - ContinuousClock().now
      guard left > .zero else {
        throw WebSocketError.handshakeTimedOut(options.handshakeTimeout)
      }
      try wait(
        for: Int16(POLLIN),
        milliseconds: min(
          200, Int(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000) + 1))
    }
  }

  private func checkReply(_ head: String, key: String) throws {
    let lines = head.split(separator: "\r\n", omittingEmptySubsequences: false)
    let status = lines.first.map { $0.split(separator: " ", maxSplits: 2) } ?? []
    guard status.count >= 2, status[0].hasPrefix("HTTP/1."), let code = Int(status[1]) else {
      throw WebSocketError.badHandshake("the reply does not begin with an HTTP/1.x status line")
    }
    guard code == 101 else { throw WebSocketError.notUpgraded(status: code) }
    var fields: [String: String] = [:]
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
        in: .whitespaces)
    }
    guard fields["upgrade"]?.lowercased() == "websocket" else {
      throw WebSocketError.badHandshake("no 'Upgrade: websocket' header")
    }
    guard let connection = fields["connection"]?.lowercased(),
      connection.split(separator: ",").contains(where: {
        $0.trimmingCharacters(in: .whitespaces) == "upgrade"
      })
    else { throw WebSocketError.badHandshake("no 'Connection: Upgrade' header") }
    guard fields["sec-websocket-accept"] == WebSocketConnection.acceptValue(for: key) else {
      throw WebSocketError.badHandshake("Sec-WebSocket-Accept does not match the key sent")
    }
    guard fields["sec-websocket-extensions"] == nil else {
      throw WebSocketError.badHandshake("the server chose an extension the client did not offer")
    }
  }

  /// Bytes available now, 0 when none is (the caller then waits on the socket).
  private func receive(into buffer: inout [UInt8]) throws -> Int {
    var count = 0
    let code = buffer.withUnsafeMutableBytes { curl_easy_recv(easy, $0.baseAddress, $0.count, &count) }
    if code == CURLE_AGAIN { return 0 }
    guard code == CURLE_OK else { throw WebSocketError.connectionLost(curlMessage(code)) }
    guard count > 0 else { throw WebSocketError.connectionLost("the server closed the connection") }
    return count
  }

  private func send(_ bytes: [UInt8], until deadline: ContinuousClock.Instant? = nil) throws {
    let deadline = deadline ?? ContinuousClock().now + options.handshakeTimeout
    var offset = 0
    while offset < bytes.count {
      var sent = 0
      let code = bytes.withUnsafeBytes {
        curl_easy_send(easy, $0.baseAddress! + offset, $0.count - offset, &sent)
      }
      if code == CURLE_AGAIN {
        guard ContinuousClock().now < deadline else {
          throw WebSocketError.connectionLost("a write timed out")
        }
        try wait(for: Int16(POLLOUT), milliseconds: 200)
        continue
      }
      guard code == CURLE_OK else { throw WebSocketError.connectionLost(curlMessage(code)) }
      offset += sent
    }
  }

  private func wait(for events: Int16, milliseconds: Int) throws {
    var descriptor = pollfd(fd: socket, events: events, revents: 0)
    let result = poll(&descriptor, 1, Int32(max(0, milliseconds)))
    if result < 0 && errno != EINTR {
      throw WebSocketError.connectionLost("poll failed: \(String(cString: strerror(errno)))")
    }
  }

  private func set(_ option: CURLoption, _ value: Int) throws {
    try check(lr_easy_setopt_long(easy, option, value))
  }

  private func set(_ option: CURLoption, _ value: String) throws {
    try check(lr_easy_setopt_string(easy, option, value))
  }

  private func check(_ code: CURLcode) throws {
    guard code == CURLE_OK else { throw WebSocketError.connectFailed(curlMessage(code)) }
  }

  private func curlMessage(_ code: CURLcode) -> String {
    let detail = String(cString: errorBuffer)
    return detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
  }
}
