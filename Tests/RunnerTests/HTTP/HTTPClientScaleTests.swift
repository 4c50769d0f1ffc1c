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

/// Large bodies and many requests. In the serial tier and serialized: they measure the
/// process's memory and threads, which tests running beside them would blur.
@Suite(.serialized) struct HTTPClientScaleTests {
  static let gigabyte: Int64 = 1 << 30
  static let memoryBudget = 64 << 20

  /// Serves `count` bytes of `BodyPattern`, generated as they are sent.
  static func patternServer(count: Int64, finished: Locked<Bool?>? = nil) throws -> RawSocketServer {
    try RawSocketServer { connection in
      _ = connection.readRequestHead()
      connection.write(
        "HTTP/1.1 200 OK\r\nContent-Length: \(count)\r\nContent-Type: application/octet-stream\r\n\r\n")
      let complete = BodyPattern.write(count: count, to: connection)
      finished?.withLock { $0 = complete }
    }
  }

  static func configureForBulk(_ configuration: inout HTTPClientConfiguration) {
    configuration.receiveBufferSize = 512 << 10
    configuration.streamBufferLimit = 4 << 20
  }

  @Test func gigabyteStreamArrivesWholeWithFlatMemory() async throws {
    let server = try Self.patternServer(count: Self.gigabyte)
    defer { server.stop() }
    try await withHTTPClient(Self.configureForBulk) { client in
      let before = ProcessStatus.residentBytes
      let peakBefore = ProcessStatus.peakResidentBytes
      var highest = before
      var verifier = BodyPatternVerifier()
      let (head, body) = try await client.stream(HTTPRequest(url: server.baseURL, idleTimeout: .seconds(30)))
      #expect(head.status == 200)
      // A consumer that falls behind: without back-pressure the client would buffer the body.
      try await Task.sleep(for: .seconds(1))
      highest = max(highest, ProcessStatus.residentBytes)
      var chunks = 0
      for try await chunk in body {
        verifier.consume(chunk)
        chunks += 1
        if chunks % 64 == 0 { highest = max(highest, ProcessStatus.residentBytes) }
      }
      #expect(verifier.count == Self.gigabyte)
      #expect(verifier.matches)
      #expect(highest - before < Self.memoryBudget, "resident memory grew by \(highest - before) bytes")
      #expect(ProcessStatus.peakResidentBytes - peakBefore < Self.memoryBudget)
    }
  }

  @Test func gigabyteDownloadToFileArrivesWholeWithFlatMemory() async throws {
    let server = try Self.patternServer(count: Self.gigabyte)
    defer { server.stop() }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("gigabyte-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: file) }
    try await withHTTPClient(Self.configureForBulk) { client in
      let before = ProcessStatus.residentBytes
      let peakBefore = ProcessStatus.peakResidentBytes
      let result = try await client.download(
        HTTPRequest(url: server.baseURL, idleTimeout: .seconds(30)), to: file)
      #expect(result.head.status == 200)
      #expect(result.bytesWritten == Self.gigabyte)
      #expect(ProcessStatus.residentBytes - before < Self.memoryBudget)
      #expect(ProcessStatus.peakResidentBytes - peakBefore < Self.memoryBudget)
    }
    let handle = try FileHandle(forReadingFrom: file)
    defer { try? handle.close() }
    var verifier = BodyPatternVerifier()
    while let block = try handle.read(upToCount: 8 << 20), !block.isEmpty {
      verifier.consume(block)
    }
    #expect(verifier.count == Self.gigabyte)
    #expect(verifier.matches)
  }

  @Test func pausedStreamDoesNotTripTheIdleTimeout() async throws {
    let server = try Self.patternServer(count: 64 << 20)
    defer { server.stop() }
    try await withHTTPClient {
      $0.streamBufferLimit = 256 << 10
    } body: { client in
      let (_, body) = try await client.stream(HTTPRequest(url: server.baseURL, idleTimeout: .seconds(1)))
      // Long enough for libcurl's once-a-second speed check to see nothing arrive.
      try await Task.sleep(for: .milliseconds(2500))
      var verifier = BodyPatternVerifier()
      for try await chunk in body { verifier.consume(chunk) }
      #expect(verifier.count == 64 << 20)
      #expect(verifier.matches)
    }
  }

  @Test func abandoningABodyStreamAbortsTheTransfer() async throws {
    let finished = Locked<Bool?>(nil)
    let server = try Self.patternServer(count: Self.gigabyte, finished: finished)
    defer { server.stop() }
    try await withHTTPClient { client in
      do {
        let (_, body) = try await client.stream(HTTPRequest(url: server.baseURL))
        for try await chunk in body {
          #expect(!chunk.isEmpty)
          break
        }
      }
      // The server's writes fail once the client hangs up; a paused, leaked transfer would
      // leave it blocked until the client shuts down.
      for _ in 0..<1000 where finished.current == nil {
        try await Task.sleep(for: .milliseconds(10))
      }
      #expect(finished.current == false)
    }
  }

  @Test func threeHundredSlowRequestsRunConcurrentlyOnOneThread() async throws {
    let requestCount = 300
    try await withLocalHTTPServer { request in
      try await Task.sleep(for: .seconds(1))
      return .text(request.path)
    } body: { base in
      try await withHTTPClient { client in
        let threadsBefore = ProcessStatus.threadCount
        let highest = Locked(threadsBefore)
        let paths = try await withThrowingTaskGroup(of: String.self) { group in
          for index in 0..<requestCount {
            group.addTask {
              let response = try await client.data(
                for: HTTPRequest(url: base.appendingPathComponent("r\(index)"), timeout: .seconds(60)))
              highest.withLock { $0 = max($0, ProcessStatus.threadCount) }
              return String(decoding: response.body, as: UTF8.self)
            }
          }
          var paths: Set<String> = []
          for try await path in group { paths.insert(path) }
          return paths
        }
        #expect(paths == Set((0..<requestCount).map { "/r\($0)" }))
        #expect(
          highest.current - threadsBefore < 30, "threads grew from \(threadsBefore) to \(highest.current)")
      }
    }
  }
}
