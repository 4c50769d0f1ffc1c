import Foundation
import HTTP

extension FuzzTarget {
  /// Bytes from a websocket server (LAVA's event stream) through the client's frame reader,
  /// whole and cut where the first byte says: the same messages and the same error either way,
  /// no message above the limit, and never more buffered than one frame of the largest size.
  static let webSocketFrames = FuzzTarget(
    name: "websocket-frames", summary: "HTTP WebSocketFrameReader: RFC 6455 frames into messages"
  ) { data in
    let limit = 4096
    let bytes = Array(data.dropFirst())
    let step = Int(data.first ?? 1) % 64 + 1
    let whole = readFrames([bytes[...]], limit: limit)
    let cut = readFrames(
      stride(from: 0, to: bytes.count, by: step).map { bytes[$0..<min($0 + step, bytes.count)] }, limit: limit
    )
    fuzzCheck(whole.0 == cut.0, "cutting every \(step) bytes changed the messages")
    fuzzCheck(
      whole.1 == cut.1,
      "cutting every \(step) bytes changed the error: \(String(describing: whole.1)) vs \(String(describing: cut.1))"
    )
    for item in whole.0 {
      switch item {
      case .text(let text): fuzzCheck(text.utf8.count <= limit, "a text message above the limit")
      case .binary(let payload): fuzzCheck(payload.count <= limit, "a binary message above the limit")
      case .ping(let payload): fuzzCheck(payload.count <= 125, "a ping above 125 bytes")
      case .pong, .close: break
      }
    }
  }

  /// The items `pieces` make, fed one by one, and the error that ended them, if any.
  private static func readFrames(_ pieces: [ArraySlice<UInt8>], limit: Int) -> (
    [WebSocketFrameReader.Item], WebSocketError?
  ) {
    var reader = WebSocketFrameReader(maxMessageSize: limit)
    var items: [WebSocketFrameReader.Item] = []
    for piece in pieces {
      reader.append(piece)
      while true {
        let item: WebSocketFrameReader.Item?
        do {
          item = try reader.next()
        } catch {
          return (items, error)
        }
        guard let item else { break }
        items.append(item)
      }
      fuzzCheck(
        reader.pendingBytes <= limit + 14 + piece.count,
        "\(reader.pendingBytes) bytes buffered with a limit of \(limit)")
    }
    return (items, nil)
  }
}
