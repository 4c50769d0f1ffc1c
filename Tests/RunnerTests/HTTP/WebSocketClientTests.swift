import FlyingFox
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import HTTP

/// The websocket client over libcurl CONNECT_ONLY: RFC 6455 framing, the handshake's checks,
/// and failures that are clear errors within a bounded time, never hangs.
@Suite struct WebSocketClientTests {
  static var direct: HTTPClientConfiguration {
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    return configuration
  }

  static func options(handshake: Duration = .seconds(5), maxMessage: Int = 1 << 20)
    -> WebSocketConnection.Options
  {
    var options = WebSocketConnection.Options()
    options.handshakeTimeout = handshake
    options.maxMessageSize = maxMessage
    return options
  }

  /// A server frame (never masked) with an explicit first byte.
  static func frame(_ first: UInt8, _ payload: [UInt8], masked: Bool = false) -> [UInt8] {
    var bytes: [UInt8] = [first]
    let maskBit: UInt8 = masked ? 0x80 : 0
    switch payload.count {
    case 0..<126: bytes.append(maskBit | UInt8(payload.count))
    case 126...0xFFFF: bytes += [maskBit | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    default:
      bytes.append(maskBit | 127)
      for shift in stride(from: 56, through: 0, by: -8) {
        bytes.append(UInt8(truncatingIfNeeded: payload.count >> shift))
      }
    }
    if masked { bytes += [0, 0, 0, 0] }
    return bytes + payload
  }

  /// The events of one connection until it ends: the error it ended with, if any.
  static func collect(
    _ url: URL, options: WebSocketConnection.Options = options(),
    until stop: @escaping @Sendable ([WebSocketEvent]) -> Bool = { _ in false }
  ) async -> ([WebSocketEvent], WebSocketError?) {
    var events: [WebSocketEvent] = []
    do {
      for try await event in WebSocketConnection.events(url: url, configuration: direct, options: options) {
        events.append(event)
        if stop(events) { return (events, nil) }
      }
      return (events, nil)
    } catch {
      return (events, error as? WebSocketError)
    }
  }

  @Test func acceptValueIsRFC6455sExample() {
    #expect(
      WebSocketConnection.acceptValue(for: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
  }

  @Test func readerJoinsAFragmentedMessageFedOneByteAtATime() throws {
    let bytes =
      Self.frame(0x01, Array("hel".utf8)) + Self.frame(0x89, Array("p".utf8))
      + Self.frame(0x00, Array("lo ".utf8))
      + Self.frame(0x80, Array("wörld".utf8)) + Self.frame(0x88, [0x03, 0xE8] + Array("bye".utf8))
    var reader = WebSocketFrameReader()
    var items: [WebSocketFrameReader.Item] = []
    for byte in bytes {
      reader.append([byte])
      while let item = try reader.next() { items.append(item) }
    }
    #expect(items == [.ping(Array("p".utf8)), .text("hello wörld"), .close(code: 1000, reason: "bye")])
    #expect(reader.pendingBytes == 0)
  }

  @Test func readerRefusesAMessageLargerThanItsLimitFromTheHeaderAlone() {
    var reader = WebSocketFrameReader(maxMessageSize: 1000)
    // Only the header of a 2^40-byte frame: refused before any payload is buffered.
    reader.append([0x82, 127, 0, 0, 1, 0, 0, 0, 0, 0])
    #expect(throws: WebSocketError.messageTooLarge(limit: 1000)) { try reader.next() }
    var fragments = WebSocketFrameReader(maxMessageSize: 1000)
    fragments.append(
      Self.frame(0x01, Array(repeating: 0x61, count: 600))
        + Self.frame(0x80, Array(repeating: 0x61, count: 600)))
    #expect(throws: WebSocketError.messageTooLarge(limit: 1000)) {
      while try fragments.next() != nil {}
    }
  }

  @Test(arguments: [
    ([0x81, 0x80, 0, 0, 0, 0] as [UInt8], "masked"),
    ([0xC1, 0x00], "reserved bits"),
    ([0x80, 0x00], "continuation frame came without"),
    ([0x83, 0x00], "unknown opcode 3"),
    ([0x09, 0x00], "control frame is fragmented"),
    ([0x81, 0x02, 0xC3, 0x28], "not UTF-8"),
    ([0x01, 0x01, 0x61, 0x81, 0x01, 0x61], "new message began"),
  ])
  func readerCallsMalformedFramesProtocolViolations(bytes: [UInt8], says: String) {
    var reader = WebSocketFrameReader()
    reader.append(bytes)
    let error = #expect(throws: WebSocketError.self) { while try reader.next() != nil {} }
    guard case .protocolViolation(let detail)? = error else {
      Issue.record("not a protocol violation: \(String(describing: error))")
      return
    }
    #expect(detail.contains(says))
  }

  @Test func writerMasksClientFramesAsTheReaderOfAServerWouldUnmaskThem() throws {
    let payload = Array(repeating: UInt8(0x5A), count: 300)
    let frame = WebSocketFrameWriter.frame(
      opcode: WebSocketFrameWriter.text, payload: payload, mask: [1, 2, 3, 4])
    #expect(frame[0] == 0x81)
    #expect(frame[1] == 0x80 | 126)
    #expect(Array(frame[4..<8]) == [1, 2, 3, 4])
    let unmasked = frame[8...].enumerated().map { $0.element ^ [1, 2, 3, 4][$0.offset % 4] }
    #expect(unmasked == payload)
  }

  @Test func clientReceivesTheMessagesOfAWebSocketServer() async throws {
    try await FakeLAVA.withRunning(token: "t") { lava in
      let url = URL(string: "ws/", relativeTo: await lava.url)!.absoluteURL
      let (events, error) = await Self.collect(url) { events in
        if events == [.open] {
          lava.events.send([WSFrame(fin: true, opcode: .text, mask: nil, payload: Data("one".utf8))])
          lava.events.send([
            WSFrame(fin: false, opcode: .text, mask: nil, payload: Data("tw".utf8)),
            WSFrame(fin: true, opcode: .ping, mask: nil, payload: Data()),
            WSFrame(fin: true, opcode: .continuation, mask: nil, payload: Data("o".utf8)),
          ])
        }
        return events.count == 3
      }
      #expect(error == nil)
      #expect(events == [.open, .text("one"), .text("two")])
    }
  }

  @Test func aServerWithoutAStreamIsNotUpgradedNotAHang() async throws {
    try await FakeLAVA.withRunning(token: "t") { lava in
      lava.events.mode = .absent
      let (events, error) = await Self.collect(URL(string: "ws/", relativeTo: await lava.url)!.absoluteURL)
      #expect(events.isEmpty)
      #expect(error == .notUpgraded(status: 404))
    }
  }

  @Test func anOversizedMessageFromTheServerIsAClearError() async throws {
    try await FakeLAVA.withRunning(token: "t") { lava in
      let url = URL(string: "ws/", relativeTo: await lava.url)!.absoluteURL
      let (events, error) = await Self.collect(url, options: Self.options(maxMessage: 4096)) { events in
        if events == [.open] {
          lava.events.send([WSFrame(fin: true, opcode: .binary, mask: nil, payload: Data(count: 5000))])
        }
        return false
      }
      #expect(events == [.open])
      #expect(error == .messageTooLarge(limit: 4096))
    }
  }

  @Test func aMaskedFrameFromTheServerIsAProtocolError() async throws {
    try await FakeLAVA.withRunning(token: "t") { lava in
      let url = URL(string: "ws/", relativeTo: await lava.url)!.absoluteURL
      let (_, error) = await Self.collect(url) { events in
        if events == [.open] {
          lava.events.send([
            WSFrame(
              fin: true, opcode: .text, mask: .init(m1: 1, m2: 2, m3: 3, m4: 4), payload: Data("x".utf8))
          ])
        }
        return false
      }
      #expect(error == .protocolViolation("the server masked a frame"))
    }
  }

  @Test func aDroppedConnectionEndsTheStreamWithAnError() async throws {
    try await FakeLAVA.withRunning(token: "t") { lava in
      let url = URL(string: "ws/", relativeTo: await lava.url)!.absoluteURL
      let (events, error) = await Self.collect(url) { events in
        if events == [.open] { lava.events.dropConnections() }
        return false
      }
      #expect(events == [.open])
      guard case .connectionLost? = error else {
        Issue.record("expected a lost connection, got \(String(describing: error))")
        return
      }
    }
  }

  @Test func aWrongAcceptKeyFailsTheHandshake() async throws {
    let server = try RawSocketServer { connection in
      _ = connection.readRequestHead()
      connection.write(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGJ0zOLJ4pFDo=\r\n\r\n")
      _ = connection.waitForPeerClose(seconds: 5)
    }
    defer { server.stop() }
    let (events, error) = await Self.collect(server.baseURL.appendingPathComponent("ws/"))
    #expect(events.isEmpty)
    #expect(error == .badHandshake("Sec-WebSocket-Accept does not match the key sent"))
  }

  @Test func aServerThatNeverAnswersTheHandshakeTimesOut() async throws {
    // Measured by the server's own thread: the client must hang up in time, whenever the
    // test's task (on a maybe busy cooperative pool) gets to read the stream's end.
    let connected = Mutex<Duration?>(nil)
    let server = try RawSocketServer { connection in
      let accepted = ContinuousClock.now
      _ = connection.readRequestHead()
      if connection.waitForPeerClose(seconds: 10) {
        connected.withLock { $0 = ContinuousClock.now - accepted }
      }
    }
    defer { server.stop() }
    let (_, error) = await Self.collect(
      server.baseURL.appendingPathComponent("ws/"), options: Self.options(handshake: .milliseconds(500)))
    #expect(error == .handshakeTimedOut(.milliseconds(500)))
    server.stop()
    #expect(try #require(connected.withLock { $0 }) < .seconds(5))
  }

  /// Reads the upgrade request and answers it as RFC 6455 asks.
  static func acceptUpgrade(_ connection: RawConnection) {
    let head = connection.readRequestHead()
    let key =
      head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }
      .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) } ?? ""
    connection.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Accept: \(WebSocketConnection.acceptValue(for: key))\r\n\r\n")
  }

  @Test func aSilentServerIsPingedThenDropped() async throws {
    // Measured by the server's own thread: the client must hang up in time, whenever the
    // test's task (on a maybe busy cooperative pool) gets to read the stream's end.
    let connected = Mutex<Duration?>(nil)
    let server = try RawSocketServer { connection in
      let accepted = ContinuousClock.now
      Self.acceptUpgrade(connection)
      if connection.waitForPeerClose(seconds: 10) {
        connected.withLock { $0 = ContinuousClock.now - accepted }
      }
    }
    defer { server.stop() }
    var options = Self.options()
    options.pingInterval = .milliseconds(300)
    let (events, error) = await Self.collect(server.baseURL.appendingPathComponent("ws/"), options: options)
    #expect(events == [.open])
    #expect(error == .connectionLost("no reply to a ping"))
    server.stop()
    #expect(try #require(connected.withLock { $0 }) < .seconds(5))
  }

  @Test func aCloseFrameEndsTheStreamWithTheServersReason() async throws {
    let server = try RawSocketServer { connection in
      Self.acceptUpgrade(connection)
      connection.write(Data(Self.frame(0x88, [0x03, 0xE9] + Array("going away".utf8))))
      _ = connection.waitForPeerClose(seconds: 5)
    }
    defer { server.stop() }
    let (events, error) = await Self.collect(server.baseURL.appendingPathComponent("ws/"))
    #expect(events == [.open])
    #expect(error == .closedByServer(code: 1001, reason: "going away"))
  }

  @Test func aServerPingIsAnsweredWithAMaskedPong() async throws {
    let pong = Mutex<[UInt8]>([])
    let server = try RawSocketServer { connection in
      Self.acceptUpgrade(connection)
      connection.write(Data(Self.frame(0x89, Array("are you there".utf8))))
      let reply = [UInt8](connection.readSome())
      pong.withLock { $0 = reply }
      connection.write(Data(Self.frame(0x81, Array("done".utf8))))
      _ = connection.waitForPeerClose(seconds: 5)
    }
    defer { server.stop() }
    let (events, error) = await Self.collect(server.baseURL.appendingPathComponent("ws/")) { $0.count == 2 }
    #expect(error == nil)
    #expect(events == [.open, .text("done")])
    let reply = pong.withLock { $0 }
    #expect(reply.count == 2 + 4 + 13)
    #expect(reply.first == 0x8A)
    #expect(reply.count > 1 && reply[1] == 0x80 | 13)
    if reply.count == 19 {
      let mask = Array(reply[2..<6])
      #expect(
        reply[6...].enumerated().map { $0.element ^ mask[$0.offset % 4] } == Array("are you there".utf8))
    }
  }
}
