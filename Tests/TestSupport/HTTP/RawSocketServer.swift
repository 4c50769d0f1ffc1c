import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// A minimal TCP server on 127.0.0.1 for replies FlyingFox cannot produce: trickled bodies,
/// connections dropped mid-body, gigabyte bodies written straight from a buffer, a proxy.
///
/// Each connection runs `handler` on its own thread (tests open few connections). `stop()`
/// shuts every socket down and waits for those threads, so nothing outlives the test.
public final class RawSocketServer: @unchecked Sendable {
  public let port: UInt16
  public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }

  private let listener: Int32
  private let handler: @Sendable (RawConnection) -> Void
  private let threads = DispatchGroup()
  private let lock = NSLock()
  private var openSockets: Set<Int32> = []
  private var isStopped = false

  public init(handler: @escaping @Sendable (RawConnection) -> Void) throws {
    self.handler = handler
    (listener, port) = try Self.listenOnLoopback()
    threads.enter()
    Thread { [self] in acceptLoop() }.start()
  }

  private static func listenOnLoopback() throws -> (Int32, UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw RawSocketError.system("socket", errno) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(fd, $0, length) == 0 && listen(fd, 512) == 0 && getsockname(fd, $0, &length) == 0
      }
    }
    guard bound else {
      close(fd)
      throw RawSocketError.system("bind/listen", errno)
    }
    return (fd, UInt16(bigEndian: address.sin_port))
  }

  /// Closes the listener and every open connection, then waits for the handler threads.
  public func stop() {
    lock.lock()
    let first = !isStopped
    isStopped = true
    let sockets = openSockets
    lock.unlock()
    guard first else { return }
    shutdown(listener, Int32(SHUT_RDWR))
    for fd in sockets { shutdown(fd, Int32(SHUT_RDWR)) }
    threads.wait()
    close(listener)
  }

  private func acceptLoop() {
    defer { threads.leave() }
    while true {
      let fd = accept(listener, nil, nil)
      if fd < 0 {
        if errno == EINTR { continue }
        return
      }
      lock.lock()
      if isStopped {
        lock.unlock()
        close(fd)
        return
      }
      openSockets.insert(fd)
      threads.enter()
      lock.unlock()
      Thread { [self] in
        handler(RawConnection(fd: fd))
        lock.withLock { _ = openSockets.remove(fd) }
        close(fd)
        threads.leave()
      }.start()
    }
  }
}

public enum RawSocketError: Error {
  case system(String, Int32)
}

/// One accepted connection; the server closes it when the handler returns.
public struct RawConnection: Sendable {
  let fd: Int32

  /// Reads up to the end of the request head (the blank line) and returns it.
  public func readRequestHead() -> String {
    var bytes: [UInt8] = []
    var byte: UInt8 = 0
    while read(fd, &byte, 1) == 1 {
      bytes.append(byte)
      if bytes.count >= 4, bytes.suffix(4).elementsEqual([13, 10, 13, 10]) { break }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// Reads whatever the client sent first (at most 16 KiB), e.g. a TLS ClientHello.
  public func readSome() -> Data {
    var buffer = [UInt8](repeating: 0, count: 16 << 10)
    let count = read(fd, &buffer, buffer.count)
    return Data(buffer.prefix(max(0, count)))
  }

  /// Waits until the client closes the connection (true) or `seconds` pass (false); whatever
  /// the client sends meanwhile is discarded.
  public func waitForPeerClose(seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    var buffer = [UInt8](repeating: 0, count: 4096)
    while Date() < deadline {
      var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
      if poll(&descriptor, 1, 100) > 0, read(fd, &buffer, buffer.count) <= 0 {
        return true
      }
    }
    return false
  }

  /// Sends `body` one byte at a time, `interval` apart; false when the peer has gone.
  @discardableResult
  public func trickle(_ body: Data, interval: Duration) -> Bool {
    for byte in body {
      guard write(Data([byte])) else { return false }
      Thread.sleep(
        forTimeInterval: Double(interval.components.attoseconds) / 1e18 + Double(interval.components.seconds))
    }
    return true
  }

  /// Writes everything or returns false when the peer has gone.
  @discardableResult
  public func write(_ data: Data) -> Bool {
    data.withUnsafeBytes { write($0) }
  }

  @discardableResult
  public func write(_ string: String) -> Bool {
    write(Data(string.utf8))
  }

  @discardableResult
  public func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var offset = 0
    while offset < bytes.count {
      // MSG_NOSIGNAL: a client that hung up must not kill the test process with SIGPIPE.
      let sent = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
      if sent < 0 {
        if errno == EINTR { continue }
        return false
      }
      offset += sent
    }
    return true
  }
}
