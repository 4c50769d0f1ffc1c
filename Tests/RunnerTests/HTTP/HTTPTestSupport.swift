import Foundation
import TestSupport

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// A client for one test, shut down when `body` ends however it ends.
@discardableResult
func withHTTPClient<Result>(
  _ configure: (inout HTTPClientConfiguration) -> Void = { _ in },
  body: (HTTPClient) async throws -> Result
) async throws -> Result {
  var configuration = HTTPClientConfiguration()
  configuration.proxy = .direct
  configure(&configuration)
  return try await HTTPClient.withClient(configuration: configuration, body)
}

/// A file of `count` bytes of `BodyPattern` in a fresh temporary folder, removed by `body`'s end.
@discardableResult
func withTemporaryFile<Result>(
  bytes count: Int, body: (URL, Data) async throws -> Result
) async throws -> Result {
  let folder = FileManager.default.temporaryDirectory.appendingPathComponent("http-test-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: folder) }
  var data = Data(capacity: count)
  while data.count < count {
    data.append(BodyPattern.block.prefix(count - data.count))
  }
  let file = folder.appendingPathComponent("upload.bin")
  try data.write(to: file)
  return try await body(file, data)
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
func closedLocalPort() throws -> UInt16 {
  let server = try RawSocketServer { _ in }
  server.stop()
  return server.port
}
