import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// An HTTP proxy on 127.0.0.1 in front of a server on loopback (the real LAVA test server) that
/// spoils a seeded share of the replies the way a flaky network or web server does: 5xx pages,
/// connections reset, bodies cut short, replies held past the client's timeout; and that can
/// refuse every connection for a while, standing in for a stopped web server (the server
/// itself, shared by other tests, keeps running).
///
/// ```swift
/// let proxy = try LAVAFaultProxy(upstreamPort: UInt16(server.url.port!), plan: .init(seed: 7))
/// defer { proxy.stop() }
/// // proxy.url reaches the server; proxy.refuseConnections(for: .seconds(5)) "stops" it.
/// ```
///
/// Each request is forwarded on a connection of its own (`Connection: close` upstream); the
/// client's connection is kept alive between replies. Only GET requests get the random
/// faults: a POST (a LAVA submission) may only be answered `Plan.submissionFaults` without being
/// forwarded, since any other failure may have created a job the client cannot know of.
public final class LAVAFaultProxy: @unchecked Sendable {
  public enum Fault: Sendable, Hashable, CustomStringConvertible {
    /// A status page instead of the reply; the request is not forwarded.
    case status(Int)
    /// The connection reset (RST) once the request is read, before it is forwarded.
    case reset
    /// The request forwarded, then the connection reset without a reply byte.
    case resetAfterForwarding
    /// The reply's head (with its full Content-Length) and part of its body, then the
    /// connection closed.
    case truncatedBody
    /// The request forwarded, its reply held until the client gives up (or `holdFor` passes).
    case delayed

    public var description: String {
      switch self {
      case .status(let code): "status \(code)"
      case .reset: "reset"
      case .resetAfterForwarding: "reset after forwarding"
      case .truncatedBody: "truncated body"
      case .delayed: "delayed"
      }
    }
  }

  public struct Plan: Sendable {
    public var seed: UInt64
    /// Faults for GET requests with the chance of each (their sum at most 1).
    public var faults: [(Fault, Double)]
    /// Faults for POST requests with the chance of each.
    public var submissionFaults: [(Fault, Double)]
    /// POST requests (counted from 1) answered with the given fault whatever the draw.
    public var scriptedSubmissions: [Int: Fault]
    /// GET requests (counted from 1) given the given fault whatever the draw, so that a test
    /// can count on each kind of fault happening.
    public var scriptedRequests: [Int: Fault]
    /// How long a delayed reply is held at most.
    public var holdFor: Duration

    public init(
      seed: UInt64,
      faults: [(Fault, Double)] = [
        (.status(500), 0.025), (.status(502), 0.025), (.status(503), 0.025), (.status(504), 0.025),
        (.reset, 0.015), (.resetAfterForwarding, 0.015), (.truncatedBody, 0.03), (.delayed, 0.01),
      ],
      submissionFaults: [(Fault, Double)] = [(.status(429), 0.1), (.status(408), 0.05)],
      scriptedSubmissions: [Int: Fault] = [:], scriptedRequests: [Int: Fault] = [:],
      holdFor: Duration = .seconds(5)
    ) {
      self.seed = seed
      self.faults = faults
      self.submissionFaults = submissionFaults
      self.scriptedSubmissions = scriptedSubmissions
      self.scriptedRequests = scriptedRequests
      self.holdFor = holdFor
    }
  }

  public let port: UInt16
  public var url: URL { URL(string: "http://127.0.0.1:\(port)/")! }

  private let upstreamPort: UInt16
  private let plan: Plan
  private let lock = NSLock()
  private var generator: SplitMix64
  private var listener: Int32
  private var openSockets: Set<Int32> = []
  /// Connections with a request in hand: a "stopping" server finishes those first.
  private var busySockets: Set<Int32> = []
  private var isStopped = false
  private var refusing = false
  private var submissions = 0
  private var gets = 0
  private var counts: [Fault: Int] = [:]
  private var forwardedCount = 0
  private var refusedPeriods = 0
  private let threads = DispatchGroup()

  public init(upstreamPort: UInt16, plan: Plan) throws {
    self.upstreamPort = upstreamPort
    self.plan = plan
    generator = SplitMix64(seed: plan.seed)
    (listener, port) = try Self.listen(port: 0)
    startAccepting(listener)
  }

  /// Faults injected so far, by kind.
  public var injected: [Fault: Int] { lock.withLock { counts } }
  /// Requests forwarded to the server (whatever happened to their replies).
  public var forwarded: Int { lock.withLock { forwardedCount } }

  /// Refuses every connection for `duration`, starting now, and closes the open ones once
  /// their request in hand (if any) is answered, as a web server being stopped does; returns
  /// at once.
  public func refuseConnections(for duration: Duration) {
    lock.lock()
    guard !isStopped, !refusing else {
      lock.unlock()
      return
    }
    refusing = true
    refusedPeriods += 1
    let old = listener
    let sockets = openSockets.subtracting(busySockets)
    threads.enter()
    lock.unlock()
    shutdown(old, Int32(SHUT_RDWR))
    close(old)
    for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    Thread { [self] in
      defer { threads.leave() }
      Thread.sleep(forTimeInterval: duration.seconds)
      // Port reuse: SO_REUSEADDR lets the same port be bound again at once.
      var reopened: Int32?
      for _ in 0..<50 {
        if let (fd, _) = try? Self.listen(port: port) {
          reopened = fd
          break
        }
        Thread.sleep(forTimeInterval: 0.1)
      }
      lock.lock()
      refusing = false
      if let reopened, !isStopped {
        listener = reopened
        lock.unlock()
        startAccepting(reopened)
      } else {
        lock.unlock()
        if let reopened { close(reopened) }
      }
    }.start()
  }

  public func stop() {
    lock.lock()
    let first = !isStopped
    isStopped = true
    let sockets = openSockets
    let current = listener
    let wasRefusing = refusing
    lock.unlock()
    guard first else { return }
    if !wasRefusing { shutdown(current, Int32(SHUT_RDWR)) }
    for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    threads.wait()
    if !wasRefusing { close(current) }
  }

  deinit { stop() }

  // MARK: sockets

  private static func listen(port: UInt16) throws -> (Int32, UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw RawSocketError.system("socket", errno) }
    var yes: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = port.bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, length) == 0 && Glibc.listen(fd, 512) == 0 && getsockname(fd, $0, &length) == 0
      }
    }
    guard bound else {
      let code = errno
      close(fd)
      throw RawSocketError.system("bind/listen", code)
    }
    return (fd, UInt16(bigEndian: address.sin_port))
  }

  private func startAccepting(_ fd: Int32) {
    threads.enter()
    Thread { [self] in
      defer { threads.leave() }
      while true {
        let client = accept(fd, nil, nil)
        if client < 0 {
          if errno == EINTR { continue }
          return
        }
        lock.lock()
        if isStopped || refusing {
          lock.unlock()
          close(client)
          continue
        }
        openSockets.insert(client)
        threads.enter()
        lock.unlock()
        Thread { [self] in
          serve(client)
          lock.withLock { _ = openSockets.remove(client) }
          close(client)
          threads.leave()
        }.start()
      }
    }.start()
  }

  // MARK: requests

  private func serve(_ fd: Int32) {
    var reader = SocketReader(fd: fd)
    while !lock.withLock({ refusing || isStopped }), let request = reader.readRequest() {
      lock.withLock { _ = busySockets.insert(fd) }
      defer { lock.withLock { _ = busySockets.remove(fd) } }
      if request.expectsContinue, !send(fd, Data("HTTP/1.1 100 Continue\r\n\r\n".utf8)) { return }
      guard let body = reader.read(count: request.contentLength) else { return }
      // A proxy without websocket support, as many are: LAVA's event stream is absent behind it
      // (and a forwarded upgrade would hold this thread until the stream ends). Not a draw.
      if request.headers.contains(where: { $0.0.lowercased() == "upgrade" }) {
        guard send(fd, Data("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".utf8)) else { return }
        continue
      }
      let fault = draw(isPost: request.method == "POST")
      switch fault {
      case .status(let code)?:
        let page = Data("<html><body><h1>\(code) injected by the test proxy</h1></body></html>\n".utf8)
        let head =
          "HTTP/1.1 \(code) Injected\r\nContent-Type: text/html\r\nContent-Length: \(page.count)\r\n"
          + (code == 429 || code == 503 ? "Retry-After: 1\r\n" : "") + "\r\n"
        guard send(fd, Data(head.utf8) + page) else { return }
        continue
      case .reset?:
        resetAndClose(fd)
        return
      default:
        break
      }
      guard let reply = forward(request, body: body) else {
        // The server did not answer: say so as a gateway would.
        let head = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"
        guard send(fd, Data(head.utf8)) else { return }
        continue
      }
      switch fault {
      case .resetAfterForwarding?:
        resetAndClose(fd)
        return
      case .truncatedBody?:
        let cut = reply.body.isEmpty ? 0 : Int(lock.withLock { generator.next() } % UInt64(reply.body.count))
        _ = send(fd, reply.head + reply.body.prefix(cut))
        shutdown(fd, Int32(SHUT_WR))
        return
      case .delayed?:
        if waitForPeerClose(fd, seconds: plan.holdFor.seconds) { return }
        guard send(fd, reply.head + reply.body) else { return }
      default:
        guard send(fd, reply.head + reply.body) else { return }
      }
    }
  }

  private func draw(isPost: Bool) -> Fault? {
    lock.withLock {
      var fault: Fault?
      if isPost {
        submissions += 1
        fault = plan.scriptedSubmissions[submissions]
      } else {
        gets += 1
        fault = plan.scriptedRequests[gets]
      }
      if fault == nil {
        let roll = Double(generator.next() >> 11) / Double(1 << 53)
        var sum = 0.0
        for (candidate, chance) in isPost ? plan.submissionFaults : plan.faults {
          sum += chance
          if roll < sum {
            fault = candidate
            break
          }
        }
      }
      if let fault { counts[fault, default: 0] += 1 }
      return fault
    }
  }

  /// The server's reply, re-framed with a Content-Length for a kept-alive client connection.
  private func forward(_ request: SocketReader.Request, body: Data) -> (head: Data, body: Data)? {
    lock.withLock { forwardedCount += 1 }
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = upstreamPort.bigEndian
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
      }
    }
    guard connected else { return nil }
    var head = "\(request.method) \(request.target) HTTP/1.1\r\n"
    for (name, value) in request.headers
    where !["connection", "keep-alive", "expect", "proxy-connection"].contains(name.lowercased()) {
      head += "\(name): \(value)\r\n"
    }
    head += "Connection: close\r\n\r\n"
    guard send(fd, Data(head.utf8) + body) else { return nil }
    var raw = Data()
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while true {
      let count = recv(fd, &buffer, buffer.count, 0)
      if count < 0, errno == EINTR { continue }
      if count <= 0 { break }
      raw.append(contentsOf: buffer[0..<count])
    }
    guard let end = raw.firstRange(of: Data([13, 10, 13, 10])) else { return nil }
    let lines = String(decoding: raw[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
    var replyBody = Data(raw[end.upperBound...])
    var outHead = lines[0] + "\r\n"
    var chunked = false
    for line in lines.dropFirst() {
      let name = line.prefix { $0 != ":" }.lowercased()
      if name == "transfer-encoding" {
        chunked = line.lowercased().contains("chunked")
        continue
      }
      if ["connection", "keep-alive", "content-length"].contains(name) { continue }
      outHead += line + "\r\n"
    }
    if chunked { replyBody = Self.dechunk(replyBody) }
    outHead += "Content-Length: \(replyBody.count)\r\nConnection: keep-alive\r\n\r\n"
    return (Data(outHead.utf8), replyBody)
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

  private func send(_ fd: Int32, _ data: Data) -> Bool {
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

  /// SO_LINGER 0: closing sends a RST, as a crashed or restarted server does.
  private func resetAndClose(_ fd: Int32) {
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
  }

  private func waitForPeerClose(_ fd: Int32, seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    var buffer = [UInt8](repeating: 0, count: 4096)
    while Date() < deadline {
      var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      if poll(&descriptor, 1, 50) > 0, recv(fd, &buffer, buffer.count, 0) <= 0 { return true }
      if lock.withLock({ isStopped }) { return true }
    }
    return false
  }
}

/// Reads HTTP/1.1 requests from a socket, keeping what was read past one request for the next.
private struct SocketReader {
  struct Request {
    var method: String
    var target: String
    var headers: [(String, String)]
    var contentLength: Int
    var expectsContinue: Bool
  }

  let fd: Int32
  var pending = Data()

  init(fd: Int32) { self.fd = fd }

  mutating func fill() -> Bool {
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    while true {
      let count = recv(fd, &buffer, buffer.count, 0)
      if count < 0, errno == EINTR { continue }
      guard count > 0 else { return false }
      pending.append(contentsOf: buffer[0..<count])
      return true
    }
  }

  mutating func readRequest() -> Request? {
    var end = pending.firstRange(of: Data([13, 10, 13, 10]))
    while end == nil {
      guard pending.count < 1 << 20, fill() else { return nil }
      end = pending.firstRange(of: Data([13, 10, 13, 10]))
    }
    let text = String(decoding: pending[pending.startIndex..<end!.lowerBound], as: UTF8.self)
    pending = Data(pending[end!.upperBound...])
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

extension Duration {
  fileprivate var seconds: Double {
    Double(components.seconds) + Double(components.attoseconds) / 1e18
  }
}
