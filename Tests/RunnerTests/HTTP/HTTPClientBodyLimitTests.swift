import Foundation
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// Issue 11, finding 7: a reply body past the size a request accepts stops the transfer with a
/// typed error, whether it goes to memory or to a file.
@Suite struct HTTPClientBodyLimitTests {
  static let threeHundredMegabytes: Int64 = 300 << 20

  /// Serves `count` bytes and records whether it could send them all.
  static func patternServer(count: Int64, finished: Locked<Bool?>) throws -> RawSocketServer {
    try RawSocketServer { connection in
      _ = connection.readRequestHead()
      connection.write(
        "HTTP/1.1 200 OK\r\nContent-Length: \(count)\r\nContent-Type: application/octet-stream\r\n\r\n")
      let complete = BodyPattern.write(count: count, to: connection)
      finished.withLock { $0 = complete }
    }
  }

  @Test func finding7_downloadPastMaxBodySizeStopsWithBodyTooLargeAndRemovesTheFile() async throws {
    let finished = Locked<Bool?>(nil)
    let server = try Self.patternServer(count: Self.threeHundredMegabytes, finished: finished)
    defer { server.stop() }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("capped-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: file) }
    try await withHTTPClient { client in
      await #expect(
        throws: HTTPClientError.bodyTooLarge(url: server.baseURL.maskedForDisplay, limit: 4 << 20)
      ) {
        _ = try await client.download(
          HTTPRequest(url: server.baseURL, idleTimeout: .seconds(30)), to: file, maxBodySize: 4 << 20)
      }
    }
    #expect(!FileManager.default.fileExists(atPath: file.path))
    server.stop()
    #expect(finished.current == false, "the whole 300 MB body was sent: the client read past its limit")
  }

  @Test func finding7_downloadOfExactlyMaxBodySizeIsKeptWhole() async throws {
    let finished = Locked<Bool?>(nil)
    let server = try Self.patternServer(count: 1 << 20, finished: finished)
    defer { server.stop() }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("capped-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: file) }
    try await withHTTPClient { client in
      let result = try await client.download(HTTPRequest(url: server.baseURL), to: file, maxBodySize: 1 << 20)
      #expect(result.bytesWritten == 1 << 20)
    }
    var verifier = BodyPatternVerifier()
    verifier.consume(try Data(contentsOf: file))
    #expect(verifier.count == 1 << 20)
    #expect(verifier.matches)
  }

  @Test func finding7_inMemoryReplyOfThreeHundredMegabytesIsCutOffAtItsLimit() async throws {
    let finished = Locked<Bool?>(nil)
    let server = try Self.patternServer(count: Self.threeHundredMegabytes, finished: finished)
    defer { server.stop() }
    try await withHTTPClient { client in
      await #expect(
        throws: HTTPClientError.bodyTooLarge(url: server.baseURL.maskedForDisplay, limit: 8 << 20)
      ) {
        _ = try await client.data(for: HTTPRequest(url: server.baseURL), maxBodySize: 8 << 20)
      }
    }
    server.stop()
    #expect(finished.current == false)
  }
}
