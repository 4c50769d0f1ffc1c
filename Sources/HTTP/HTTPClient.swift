import Foundation
import RunnerCore

/// The runner's HTTP client over libcurl: every call is one request, redirects included.
///
/// All transfers of a client share one thread and one libcurl multi handle (and so its
/// connections). A reply with any status is a response, not an error; errors are
/// `HTTPClientError`, and cancelling the calling task ends a call with `CancellationError`.
/// Await `shutdown()` when done, or use `withClient(configuration:_:)`; deinit only asks the
/// thread to stop.
package final class HTTPClient: Sendable {
  package let configuration: HTTPClientConfiguration
  private let loop: CurlMultiLoop

  package init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) throws {
    let tls = configuration.tls
    for file in [tls.caBundle, tls.clientCertificate, tls.clientKey].compactMap(\.self)
    where !FileManager.default.isReadableFile(atPath: file.path) {
      throw HTTPClientError.fileAccess(path: file.path, detail: "TLS file is missing or not readable")
    }
    self.configuration = configuration
    loop = try CurlMultiLoop(maxHostConnections: configuration.maxHostConnections)
  }

  deinit { loop.requestStop() }

  /// Runs `body` with a new client and shuts the client down once `body` returns or throws.
  package static func withClient<T>(
    configuration: HTTPClientConfiguration = HTTPClientConfiguration(), _ body: (HTTPClient) async throws -> T
  ) async throws -> T {
    let client = try HTTPClient(configuration: configuration)
    let result: Result<T, any Error>
    do {
      result = .success(try await body(client))
    } catch {
      result = .failure(error)
    }
    await client.shutdown()
    return try result.get()
  }

  /// Fails every pending request with `HTTPClientError.cancelled` and stops the client's
  /// thread; returns once that is done, without blocking the caller's thread.
  package func shutdown() async {
    await loop.shutdown()
  }

  /// Asks for what `shutdown()` does and returns at once: for cleanup that cannot wait (a
  /// `defer`); pending requests fail with `HTTPClientError.cancelled` shortly after.
  package func requestShutdown() {
    loop.requestStop()
  }

  /// The whole reply in memory; throws `bodyTooLarge` past `maxBodySize` bytes.
  package func data(for request: HTTPRequest, maxBodySize: Int = 16 << 20) async throws -> HTTPResponse {
    let (transfer, head) = try await start(request, mode: .memory(limit: maxBodySize))
    try await wait(for: transfer) { try await transfer.waitForCompletion() }
    return HTTPResponse(head: head, body: transfer.completedBody)
  }

  /// Writes a 2xx body to `file` (created or truncated). For any other status the file is
  /// removed and the start of the body is returned as `errorBody`; on an error it is removed too,
  /// so a file that is left is always complete. A 2xx body longer than `maxBodySize` bytes is
  /// not written past that size: the transfer stops there with `bodyTooLarge`.
  package func download(
    _ request: HTTPRequest, to file: URL, maxBodySize: Int64? = nil
  ) async throws -> HTTPDownloadResult {
    let descriptor = open(file.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else {
      throw HTTPClientError.fileAccess(path: file.path, detail: String(cString: strerror(errno)))
    }
    var keepsFile = false
    defer {
      close(descriptor)
      if !keepsFile { unlink(file.path) }
    }
    let (transfer, head) = try await start(
      request, mode: .download(fileDescriptor: descriptor, limit: maxBodySize))
    try await wait(for: transfer) { try await transfer.waitForCompletion() }
    guard head.isSuccess else {
      return HTTPDownloadResult(head: head, bytesWritten: 0, errorBody: transfer.completedBody)
    }
    keepsFile = true
    return HTTPDownloadResult(head: head, bytesWritten: transfer.completedFileBytes, errorBody: nil)
  }

  /// The head as soon as it arrives, and the body as a stream with back-pressure, for any
  /// status (the caller decides what a non-2xx body is worth).
  package func stream(_ request: HTTPRequest) async throws -> (HTTPResponseHead, HTTPBodyStream) {
    let mode = CurlTransfer.BodyMode.stream(bufferLimit: configuration.streamBufferLimit)
    let (transfer, head) = try await start(request, mode: mode)
    return (head, HTTPBodyStream(transfer: transfer, loop: loop))
  }

  /// Runs hops until one is not a redirect to follow; returns that hop's transfer and head.
  private func start(
    _ request: HTTPRequest, mode: CurlTransfer.BodyMode
  ) async throws -> (CurlTransfer, HTTPResponseHead) {
    let clock = ContinuousClock()
    let limit = request.timeout ?? configuration.timeout
    let deadline = limit.map { clock.now + $0 }
    var hop = request
    var redirects = 0
    while true {
      try Task.checkCancellation()
      var remaining: Duration?
      if let deadline, let limit {
        remaining = deadline - clock.now
        guard let left = remaining, left > .zero else {
          throw HTTPClientError.timedOut(
            url: hop.url.maskedForDisplay, detail: "the \(limit) limit ran out while following redirects")
        }
      }
      let transfer = try CurlTransfer.make(
        for: hop, mode: mode, timeout: remaining, configuration: configuration)
      try loop.add(transfer)
      let head = try await wait(for: transfer) { try await transfer.waitForHead() }
      guard let target = transfer.redirectURL else { return (transfer, head) }
      guard redirects < request.redirectLimit else {
        throw HTTPClientError.tooManyRedirects(
          url: request.url.maskedForDisplay, limit: request.redirectLimit)
      }
      guard let next = RedirectPolicy.nextRequest(after: hop, status: head.status, target: target) else {
        return (transfer, head)
      }
      redirects += 1
      hop = next
    }
  }

  private func wait<T>(for transfer: CurlTransfer, _ operation: () async throws -> T) async throws -> T {
    let loop = loop
    return try await withTaskCancellationHandler(operation: operation) {
      loop.cancel(transfer)
    }
  }
}
