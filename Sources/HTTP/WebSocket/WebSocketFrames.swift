/// RFC 6455 framing as a client sees it: frames read from the server (never masked) and put
/// together into messages, and masked frames written to it.
///
/// The reader holds at most one message of `maxMessageSize` bytes and the frame being read: a
/// frame header announcing more than that is refused before its payload is read.
package struct WebSocketFrameReader: Sendable {
  /// What a server sent, frame by frame: whole messages and control frames.
  package enum Item: Sendable, Equatable {
    case text(String)
    case binary([UInt8])
    case ping([UInt8])
    case pong
    /// The server's close frame: its status code (nil when it gave none) and reason.
    case close(code: UInt16?, reason: String)
  }

  package let maxMessageSize: Int
  private var buffer: [UInt8] = []
  private var start = 0
  /// The opcode and the payloads so far of a message sent in several frames.
  private var fragmented: (opcode: UInt8, payload: [UInt8])?

  package init(maxMessageSize: Int = 1 << 20) {
    self.maxMessageSize = maxMessageSize
  }

  /// Bytes buffered and not yet taken as a frame.
  package var pendingBytes: Int { buffer.count - start }

  package mutating func append(_ bytes: some Sequence<UInt8>) {
    if start > 0 && start >= buffer.count / 2 {
      buffer.removeFirst(start)
      start = 0
    }
    buffer.append(contentsOf: bytes)
  }

  /// The next whole message or control frame, nil until more bytes are needed.
  package mutating func next() throws(WebSocketError) -> Item? {
    while true {
      guard let (header, payloadStart) = try frameHeader() else { return nil }
      guard buffer.count - payloadStart >= header.length else { return nil }
      let payload = Array(buffer[payloadStart..<payloadStart + header.length])
      start = payloadStart + header.length
      if let item = try take(header, payload) { return item }
    }
  }

  private struct Header {
    var fin: Bool
    var opcode: UInt8
    var length: Int
  }

  private func frameHeader() throws(WebSocketError) -> (Header, Int)? {
    let available = buffer.count - start
    guard available >= 2 else { return nil }
    let first = buffer[start]
    let second = buffer[start + 1]
    let header = Header(fin: first & 0x80 != 0, opcode: first & 0x0F, length: Int(second & 0x7F))
    guard first & 0x70 == 0 else {
      throw .protocolViolation("a frame has reserved bits set (no extension was agreed)")
    }
    guard second & 0x80 == 0 else { throw .protocolViolation("the server masked a frame") }
    var length = UInt64(header.length)
    var offset = start + 2
    if header.length == 126 {
      guard available >= 4 else { return nil }
      length = UInt64(buffer[offset]) << 8 | UInt64(buffer[offset + 1])
      offset += 2
    } else if header.length == 127 {
      guard available >= 10 else { return nil }
      length = buffer[offset..<offset + 8].reduce(0) { $0 << 8 | UInt64($1) }
      offset += 8
      guard length >> 63 == 0 else { throw .protocolViolation("a frame length has its top bit set") }
    }
    let isControl = header.opcode & 0x08 != 0
    if isControl {
      guard header.fin else { throw .protocolViolation("a control frame is fragmented") }
      guard length <= 125 else { throw .protocolViolation("a control frame is longer than 125 bytes") }
    } else {
      let already = UInt64(fragmented?.payload.count ?? 0)
      guard already + length <= UInt64(maxMessageSize) else { throw .messageTooLarge(limit: maxMessageSize) }
    }
    var result = header
    result.length = Int(length)
    return (result, offset)
  }

  private mutating func take(_ header: Header, _ payload: [UInt8]) throws(WebSocketError) -> Item? {
    switch header.opcode {
    case 0x0:
      guard var message = fragmented else {
        throw .protocolViolation("a continuation frame came without a message to continue")
      }
      message.payload += payload
      if !header.fin {
        fragmented = message
        return nil
      }
      fragmented = nil
      return try Self.message(opcode: message.opcode, message.payload)
    case 0x1, 0x2:
      guard fragmented == nil else {
        throw .protocolViolation("a new message began before the fragmented one ended")
      }
      if !header.fin {
        fragmented = (header.opcode, payload)
        return nil
      }
      return try Self.message(opcode: header.opcode, payload)
    case 0x8:
      guard payload.count != 1 else { throw .protocolViolation("a close frame has a 1-byte payload") }
      guard payload.count >= 2 else { return .close(code: nil, reason: "") }
      guard let reason = String(validating: payload[2...], as: UTF8.self) else {
        throw .protocolViolation("a close frame's reason is not UTF-8")
      }
      return .close(code: UInt16(payload[0]) << 8 | UInt16(payload[1]), reason: reason)
    case 0x9:
      return .ping(payload)
    case 0xA:
      return .pong
    default:
      throw .protocolViolation("a frame has the unknown opcode \(header.opcode)")
    }
  }

  private static func message(opcode: UInt8, _ payload: [UInt8]) throws(WebSocketError) -> Item {
    guard opcode == 0x1 else { return .binary(payload) }
    guard let text = String(validating: payload, as: UTF8.self) else {
      throw .protocolViolation("a text message is not UTF-8")
    }
    return .text(text)
  }
}

/// Frames as a client writes them: one frame per message, always masked.
package enum WebSocketFrameWriter {
  package static let text: UInt8 = 0x1
  package static let close: UInt8 = 0x8
  package static let ping: UInt8 = 0x9
  package static let pong: UInt8 = 0xA

  package static func frame(
    opcode: UInt8, payload: [UInt8], mask: [UInt8] = (0..<4).map { _ in UInt8.random(in: 0...255) }
  ) -> [UInt8] {
    precondition(mask.count == 4)
    var frame: [UInt8] = [0x80 | opcode]
    switch payload.count {
    case 0..<126: frame.append(0x80 | UInt8(payload.count))
    case 126...0xFFFF: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
    default:
      frame.append(0x80 | 127)
      for shift in stride(from: 56, through: 0, by: -8) {
        frame.append(UInt8(truncatingIfNeeded: payload.count >> shift))
      }
    }
    frame += mask
    frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
    return frame
  }
}
