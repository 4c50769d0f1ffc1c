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

@Suite struct HTTPClientExchangeTests {
  @Test func getSendsHeadersAndReturnsStatusHeadersAndBody() async throws {
    let seen = Locked<RecordedRequest?>(nil)
    try await withLocalHTTPServer { request in
      seen.withLock { $0 = request }
      return CannedReply(status: 200, headers: ["X-Answer": "42"], body: Data("hello".utf8))
    } body: { base in
      try await withHTTPClient { client in
        let request = HTTPRequest(
          url: base.appendingPathComponent("greeting"), headers: ["Accept": "text/plain"])
        let response = try await client.data(for: request)
        #expect(response.status == 200)
        #expect(response.headers["x-answer"] == "42")
        #expect(response.body == Data("hello".utf8))
        #expect(response.head.url == request.url)
      }
    }
    let request = try #require(seen.current)
    #expect(request.method == "GET")
    #expect(request.path == "/greeting")
    #expect(request.header("Accept") == "text/plain")
    #expect(request.header("User-Agent") == "lava-runner/\(RunnerVersion.current)")
  }

  @Test func postSendsJSONBodyWithItsContentType() async throws {
    let seen = Locked<RecordedRequest?>(nil)
    let json = Data(#"{"definition":"job: 1"}"#.utf8)
    try await withLocalHTTPServer { request in
      seen.withLock { $0 = request }
      return CannedReply(
        status: 201, headers: ["Content-Type": "application/json"], body: Data(#"{"id":[7]}"#.utf8))
    } body: { base in
      try await withHTTPClient { client in
        let response = try await client.data(
          for: HTTPRequest(
            method: .post, url: base.appendingPathComponent("api/v0.2/jobs/"),
            headers: ["Content-Type": "application/json"], body: .data(json)))
        #expect(response.status == 201)
        #expect(response.body == Data(#"{"id":[7]}"#.utf8))
      }
    }
    let request = try #require(seen.current)
    #expect(request.method == "POST")
    #expect(request.body == json)
    #expect(request.header("content-type") == "application/json")
    #expect(request.header("Expect") == nil)
  }

  @Test(arguments: [404, 500, 503])
  func errorStatusesAreResponsesNotErrors(status: Int) async throws {
    try await withLocalHTTPServer { _ in
      CannedReply(status: status, headers: ["Retry-After": "7"], body: Data("nope".utf8))
    } body: { base in
      try await withHTTPClient { client in
        let response = try await client.data(for: HTTPRequest(url: base))
        #expect(response.status == status)
        #expect(response.body == Data("nope".utf8))
        #expect(response.head.retryAfter == .seconds(7))
      }
    }
  }

  @Test func putWithoutBodyUsesTheMethodGiven() async throws {
    let seen = Locked<String?>(nil)
    try await withLocalHTTPServer { request in
      seen.withLock { $0 = request.method }
      return CannedReply(status: 204)
    } body: { base in
      try await withHTTPClient { client in
        let response = try await client.data(for: HTTPRequest(method: .delete, url: base))
        #expect(response.status == 204)
      }
    }
    #expect(seen.current == "DELETE")
  }

  @Test func sequentialRequestsReuseOneConnection() async throws {
    let connections = Locked(0)
    let server = try RawSocketServer { connection in
      connections.withLock { $0 += 1 }
      while !connection.readRequestHead().isEmpty {
        connection.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
      }
    }
    defer { server.stop() }
    try await withHTTPClient { client in
      for _ in 0..<3 {
        let response = try await client.data(for: HTTPRequest(url: server.baseURL))
        #expect(response.body == Data("ok".utf8))
      }
    }
    #expect(connections.current == 1)
  }

  @Test func downloadWritesSuccessfulBodiesAndKeepsNoFileForErrors() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
      "download-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    try await withLocalHTTPServer { request in
      switch request.path {
      case "/moved": .redirect(302, to: "/artifact")
      case "/artifact": CannedReply(body: Data("zip bytes".utf8))
      default: .text(#"{"message":"404 Not found"}"#, status: 404)
      }
    } body: { base in
      try await withHTTPClient { client in
        let good = folder.appendingPathComponent("good.zip")
        let result = try await client.download(
          HTTPRequest(url: base.appendingPathComponent("moved")), to: good)
        #expect(result.head.status == 200)
        #expect(result.bytesWritten == 9)
        #expect(result.errorBody == nil)
        #expect(try Data(contentsOf: good) == Data("zip bytes".utf8))

        let missing = folder.appendingPathComponent("missing.zip")
        let failed = try await client.download(
          HTTPRequest(url: base.appendingPathComponent("gone")), to: missing)
        #expect(failed.head.status == 404)
        #expect(failed.errorBody == Data(#"{"message":"404 Not found"}"#.utf8))
        #expect(!FileManager.default.fileExists(atPath: missing.path))
      }
    }
  }

  @Test func hostConnectionLimitQueuesRequestsBeyondIt() async throws {
    let inFlight = Locked((now: 0, highest: 0))
    try await withLocalHTTPServer { _ in
      inFlight.withLock {
        $0.now += 1; $0.highest = max($0.highest, $0.now)
      }
      try await Task.sleep(for: .milliseconds(100))
      inFlight.withLock { $0.now -= 1 }
      return .text("ok")
    } body: { base in
      try await withHTTPClient {
        $0.maxHostConnections = 2
      } body: { client in
        try await withThrowingTaskGroup(of: Int.self) { group in
          for _ in 0..<6 {
            group.addTask { try await client.data(for: HTTPRequest(url: base)).status }
          }
          for try await status in group { #expect(status == 200) }
        }
      }
    }
    #expect(inFlight.current.highest == 2)
  }

  @Test func replyLargerThanTheCapIsRejected() async throws {
    try await withLocalHTTPServer { _ in
      CannedReply(body: Data(repeating: 7, count: 100_000))
    } body: { base in
      try await withHTTPClient { client in
        await #expect(throws: HTTPClientError.bodyTooLarge(url: base.maskedForDisplay, limit: 1000)) {
          _ = try await client.data(for: HTTPRequest(url: base), maxBodySize: 1000)
        }
      }
    }
  }

  @Test func uploadFromFileSendsTheFileBytes() async throws {
    let received = Locked<RecordedRequest?>(nil)
    try await withTemporaryFile(bytes: 3 << 20) { file, content in
      try await withLocalHTTPServer { request in
        received.withLock { $0 = request }
        return CannedReply(status: 201)
      } body: { base in
        try await withHTTPClient { client in
          let response = try await client.data(
            for: HTTPRequest(
              method: .put, url: base.appendingPathComponent("upload"),
              headers: ["Content-Type": "application/octet-stream"], body: .file(file)))
          #expect(response.status == 201)
        }
      }
      let request = try #require(received.current)
      #expect(request.method == "PUT")
      #expect(request.header("Content-Length") == String(content.count))
      #expect(request.body == content)
    }
  }

  @Test func multipartUploadSendsFieldsAndTheFilePart() async throws {
    let received = Locked<RecordedRequest?>(nil)
    try await withTemporaryFile(bytes: 1 << 20) { file, content in
      try await withLocalHTTPServer { request in
        received.withLock { $0 = request }
        return CannedReply(status: 201)
      } body: { base in
        try await withHTTPClient { client in
          let form = MultipartForm([
            .file(name: "file", file: file, filename: "artifacts.zip", contentType: "application/zip"),
            .field(name: "artifact_format", value: "zip"),
          ])
          let response = try await client.data(
            for: HTTPRequest(method: .post, url: base, headers: ["JOB-TOKEN": "t0k"], body: .multipart(form)))
          #expect(response.status == 201)
        }
      }
      let request = try #require(received.current)
      let parts = try MultipartParts(request)
      let filePart = try #require(parts.part(named: "file"))
      #expect(filePart.head.contains(#"filename="artifacts.zip""#))
      #expect(filePart.head.contains("Content-Type: application/zip"))
      #expect(filePart.body == content)
      #expect(parts.part(named: "artifact_format")?.body == Data("zip".utf8))
    }
  }
}

/// The parts of a multipart/form-data body, split on the boundary its Content-Type names.
struct MultipartParts {
  struct Part {
    var head: String
    var body: Data
  }

  var parts: [Part] = []

  init(_ request: RecordedRequest) throws {
    let contentType = try #require(request.header("Content-Type"))
    let boundary = try #require(contentType.components(separatedBy: "boundary=").last)
    let delimiter = Data("\r\n--\(boundary)".utf8)
    // Prefix CRLF so the first delimiter looks like the others.
    let body = Data("\r\n".utf8) + request.body
    var searchStart = body.startIndex
    var pieces: [Data] = []
    while let range = body.range(of: delimiter, in: searchStart..<body.endIndex) {
      pieces.append(body[searchStart..<range.lowerBound])
      searchStart = range.upperBound
    }
    for piece in pieces.dropFirst() {
      guard let split = piece.range(of: Data("\r\n\r\n".utf8)) else { continue }
      parts.append(
        Part(
          head: String(decoding: piece[piece.startIndex..<split.lowerBound], as: UTF8.self),
          body: Data(piece[split.upperBound...])))
    }
  }

  func part(named name: String) -> Part? {
    parts.first { $0.head.contains(#"name="\#(name)""#) }
  }
}
