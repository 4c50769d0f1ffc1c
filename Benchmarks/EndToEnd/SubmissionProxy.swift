import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// An HTTP proxy on 127.0.0.1 in front of the LAVA test server (nginx) for part (a): a job
/// submission (`POST …/api/v0.2/jobs/`) is answered at once with the next of the prepared queued
/// LAVA jobs instead of being forwarded, so N GitLab jobs wait on N queued LAVA jobs without N
/// real submissions (LAVA takes 70–150 ms of CPU for each). Everything else is forwarded: the
/// runner's requests reach LAVA's web server as they would without the proxy, and a websocket
/// upgrade (the event stream at `/ws/`) is passed through both ways.
///
/// Each request is forwarded on an upstream connection of its own (`Connection: close`); the
/// runner's connection is kept alive between replies.
final class SubmissionProxy: @unchecked Sendable {
  let port: UInt16
  var url: URL { URL(string: "http://127.0.0.1:\(port)/")! }

  private let upstreamPort: UInt16
  private let lock = NSLock()
  private var prepared: [Int64] = []
  private var handedOut = 0
  private var tunnels = 0
  private var forwardedCount = 0
  private var listener: Int32
  private var openSockets: Set<Int32> = []
  private var isStopped = false
  private let threads = DispatchGroup()

  init(upstreamPort: UInt16) throws {
    self.upstreamPort = upstreamPort
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchmarkError.setup("socket: errno \(errno)") }
    var address = Self.loopback(port: 0)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, length) == 0 && Glibc.listen(fd, 1024) == 0 && getsockname(fd, $0, &length) == 0
      }
    }
    guard bound else {
      close(fd)
      throw BenchmarkError.setup("the submission proxy could not listen on 127.0.0.1: errno \(errno)")
    }
    listener = fd
    port = UInt16(bigEndian: address.sin_port)
    startAccepting()
  }

  /// The LAVA job ids the next submissions get, in order (the same jobs for every binary).
  func prepare(_ ids: [Int64]) {
    lock.withLock {
      prepared = ids
      handedOut = 0
    }
  }

  var submissionsAnswered: Int { lock.withLock { handedOut } }
  /// Websockets (LAVA's event stream) passed through so far.
  var tunnelsOpened: Int { lock.withLock { tunnels } }
  /// Requests forwarded to LAVA so far.
  var forwarded: Int { lock.withLock { forwardedCount } }

  func stop() {
    let (first, sockets) = lock.withLock { () -> (Bool, Set<Int32>) in
      defer { isStopped = true }
      return (!isStopped, openSockets)
    }
    guard first else { return }
    shutdown(listener, Int32(SHUT_RDWR))
    for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    threads.wait()
    close(listener)
  }

  deinit { stop() }

  /// Whether a request is a LAVA job submission: a POST to the REST API's job list.
  static func isSubmission(method: String, target: String) -> Bool {
    guard method == "POST" else { return false }
    let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    return path.hasSuffix("/api/v0.2/jobs/") || path.hasSuffix("/api/v0.2/jobs")
  }

  /// The reply LAVA gives a submission of one job (201, `job_ids`), or 503 when the prepared
  /// jobs are used up (the runner then retries, and the benchmark's wait fails with a message).
  static func submissionReply(id: Int64?) -> Data {
    guard let id else {
      let body = #"{"detail": "the benchmark's prepared LAVA jobs are used up"}"#
      return Data(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
          .utf8)
    }
    let body = #"{"message": "job(s) successfully submitted", "job_ids": [\#(id)]}"#
    return Data(
      "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        .utf8)
  }

  // MARK: connections

  private static func loopback(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = port.bigEndian
    return address
  }

  private func startAccepting() {
    threads.enter()
    Thread { [self] in
      defer { threads.leave() }
      while true {
        let client = accept(listener, nil, nil)
        if client < 0 {
          if errno == EINTR { continue }
          return
        }
        let accepted = lock.withLock { () -> Bool in
          guard !isStopped else { return false }
          openSockets.insert(client)
          threads.enter()
          return true
        }
        guard accepted else {
          close(client)
          continue
        }
        Thread { [self] in
          serve(client)
          lock.withLock { _ = openSockets.remove(client) }
          close(client)
          threads.leave()
        }.start()
      }
    }.start()
  }

  private func serve(_ fd: Int32) {
    var reader = ProxyReader(fd: fd)
    while let request = reader.readRequest() {
      if request.expectsContinue, !Self.send(fd, Data("HTTP/1.1 100 Continue\r\n\r\n".utf8)) { return }
      guard let body = reader.read(count: request.contentLength) else { return }
      if Self.isSubmission(method: request.method, target: request.target) {
        let id = lock.withLock { () -> Int64? in
          guard handedOut < prepared.count else { return nil }
          defer { handedOut += 1 }
          return prepared[handedOut]
        }
        guard Self.send(fd, Self.submissionReply(id: id)) else { return }
        continue
      }
      if request.headers.contains(where: { $0.0.lowercased() == "upgrade" }) {
        tunnel(fd, request: request, pending: body + reader.takePending())
        return
      }
      guard let reply = forward(request, body: body) else {
        guard Self.send(fd, Data("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n".utf8)) else {
          return
        }
        continue
      }
      guard Self.send(fd, reply) else { return }
    }
  }

  private func connectUpstream() -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    var address = Self.loopback(port: upstreamPort)
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
    guard connected else {
      close(fd)
      return nil
    }
    return fd
  }

  /// The websocket (or any upgrade): the request as it came, then bytes both ways until one
  /// side closes or the proxy stops.
  private func tunnel(_ client: Int32, request: ProxyReader.Request, pending: Data) {
    guard let upstream = connectUpstream() else { return }
    defer { close(upstream) }
    lock.withLock { tunnels += 1 }
    var head = "\(request.method) \(request.target) HTTP/1.1\r\n"
    for (name, value) in request.headers { head += "\(name): \(value)\r\n" }
    guard Self.send(upstream, Data((head + "\r\n").utf8) + pending) else { return }
    var descriptors = [
      pollfd(fd: client, events: Int16(POLLIN), revents: 0),
      pollfd(fd: upstream, events: Int16(POLLIN), revents: 0),
    ]
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while !lock.withLock({ isStopped }) {
      let ready = poll(&descriptors, 2, 200)
      if ready < 0, errno != EINTR { return }
      for (index, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
        let count = recv(descriptor.fd, &buffer, buffer.count, 0)
        if count <= 0 { return }
        let other = index == 0 ? upstream : client
        guard Self.send(other, Data(buffer[0..<count])) else { return }
      }
    }
  }

  /// The server's reply, re-framed with a Content-Length for the kept-alive client connection.
  private func forward(_ request: ProxyReader.Request, body: Data) -> Data? {
    guard let fd = connectUpstream() else { return nil }
    defer { close(fd) }
    lock.withLock { forwardedCount += 1 }
    var head = "\(request.method) \(request.target) HTTP/1.1\r\n"
    for (name, value) in request.headers
    where !["connection", "keep-alive", "expect", "proxy-connection"].contains(name.lowercased()) {
      head += "\(name): \(value)\r\n"
    }
    head += "Connection: close\r\n\r\n"
    guard Self.send(fd, Data(head.utf8) + body) else { return nil }
    var raw = Data()
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while true {
      let count = recv(fd, &buffer, buffer.count, 0)
      if count < 0, errno == EINTR { continue }
      if count <= 0 { break }
      raw.append(contentsOf: buffer[0..<count])
    }
    return Self.reframe(raw)
  }

  /// A `Connection: close` reply (read to EOF) as a kept-alive one: chunked bodies joined, the
  /// Content-Length of the body as it is.
  static func reframe(_ raw: Data) -> Data? {
    guard let end = raw.firstRange(of: Data([13, 10, 13, 10])) else { return nil }
    let lines = String(decoding: raw[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
    var body = Data(raw[end.upperBound...])
    var head = lines[0] + "\r\n"
    var chunked = false
    for line in lines.dropFirst() {
      let name = line.prefix { $0 != ":" }.lowercased()
      if name == "transfer-encoding" {
        chunked = line.lowercased().contains("chunked")
        continue
      }
      if ["connection", "keep-alive", "content-length"].contains(name) { continue }
      head += line + "\r\n"
    }
    if chunked { body = dechunk(body) }
    head += "Content-Length: \(body.count)\r\nConnection: keep-alive\r\n\r\n"
    return Data(head.utf8) + body
  }

  static func dechunk(_ data: Data) -> Data {
    var result = Data()
    var index = data.startIndex
    while let lineEnd = data[index...].firstRange(of: Data([13, 10])) {
      let sizeText =
        String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self)
        .split(separator: ";").first.map(String.init) ?? ""
      guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size > 0 else { break }
      let start = lineEnd.upperBound
      let end = min(data.endIndex, start + size)
      result.append(data[start..<end])
      index = min(data.endIndex, end + 2)
    }
    return result
  }

  private static func send(_ fd: Int32, _ data: Data) -> Bool {
    data.withUnsafeBytes { bytes in
      var offset = 0
      while offset < bytes.count {
        let sent = Glibc.send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
        if sent < 0 {
          if errno == EINTR { continue }
          return false
        }
        offset += sent
      }
      return true
    }
  }
}

/// Reads HTTP/1.1 requests from a socket, keeping what was read past one request for the next.
struct ProxyReader {
  struct Request {
    var method: String
    var target: String
    var headers: [(String, String)]
    var contentLength: Int
    var expectsContinue: Bool
  }

  let fd: Int32
  private var pending = Data()

  init(fd: Int32) { self.fd = fd }

  private mutating func fill() -> Bool {
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while true {
      let count = recv(fd, &buffer, buffer.count, 0)
      if count < 0, errno == EINTR { continue }
      guard count > 0 else { return false }
      pending.append(contentsOf: buffer[0..<count])
      return true
    }
  }

  mutating func takePending() -> Data {
    defer { pending = Data() }
    return pending
  }

  mutating func readRequest() -> Request? {
    var end = pending.firstRange(of: Data([13, 10, 13, 10]))
    while end == nil {
      guard pending.count < 1 << 20, fill() else { return nil }
      end = pending.firstRange(of: Data([13, 10, 13, 10]))
    }
    let text = String(decoding: pending[pending.startIndex..<end!.lowerBound], as: UTF8.self)
    pending = Data(pending[end!.upperBound...])
    return Self.parseHead(text)
  }

  static func parseHead(_ text: String) -> Request? {
    let lines = text.components(separatedBy: "\r\n")
    let parts = lines[0].split(separator: " ")
    guard parts.count == 3 else { return nil }
    var headers: [(String, String)] = []
    for line in lines.dropFirst() {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers.append(
        (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
    }
    let value = { (name: String) in headers.first { $0.0.lowercased() == name }?.1 }
    return Request(
      method: String(parts[0]), target: String(parts[1]), headers: headers,
      contentLength: value("content-length").flatMap { Int($0) } ?? 0,
      expectsContinue: value("expect")?.lowercased() == "100-continue")
  }

  mutating func read(count: Int) -> Data? {
    while pending.count < count {
      guard fill() else { return nil }
    }
    let body = Data(pending.prefix(count))
    pending = Data(pending.dropFirst(count))
    return body
  }
}
