import Foundation

/// The runner's HTTP client over libcurl: every call is one request, redirects included.
///
/// All transfers of a client share one thread and one libcurl multi handle (and so its
/// connections). A reply with any status is a response, not an error; errors are
/// `HTTPClientError`, and cancelling the calling task ends a call with `CancellationError`.
/// Call `shutdown()` when done (deinit does it too).
final class HTTPClient: Sendable {
  let configuration: HTTPClientConfiguration
  private let loop: CurlMultiLoop

  init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) throws {
    let tls = configuration.tls
    for file in [tls.caBundle, tls.clientCertificate, tls.clientKey].compactMap(\.self)
    where !FileManager.default.isReadableFile(atPath: file.path) {
      throw HTTPClientError.fileAccess(path: file.path, detail: "TLS file is missing or not readable")
    }
    self.configuration = configuration
    loop = try CurlMultiLoop(maxHostConnections: configuration.maxHostConnections)
  }

  deinit { loop.shutdown() }

  /// Fails every pending request with `HTTPClientError.cancelled` and stops the client's thread.
  func shutdown() {
    loop.shutdown()
  }

  /// The whole reply in memory; throws `bodyTooLarge` past `maxBodySize` bytes.
  func data(for request: HTTPRequest, maxBodySize: Int = 16 << 20) async throws -> HTTPResponse {
    let (transfer, head) = try await start(request, mode: .memory(limit: maxBodySize))
    try await wait(for: transfer) { try await transfer.waitForCompletion() }
    return HTTPResponse(head: head, body: transfer.completedBody)
  }

  /// Writes a 2xx body to `file` (created or truncated). For any other status the file is
  /// removed and the start of the body is returned as `errorBody`; on an error it is removed too,
  /// so a file that is left is always complete. A 2xx body longer than `maxBodySize` bytes is
  /// not written past that size: the transfer stops there with `bodyTooLarge`.
  func download(
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
  func stream(_ request: HTTPRequest) async throws -> (HTTPResponseHead, HTTPBodyStream) {
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
            url: hop.url.redactedForDisplay, detail: "the \(limit) limit ran out while following redirects")
        }
      }
      let transfer = try CurlTransfer.make(
        for: hop, mode: mode, timeout: remaining, configuration: configuration)
      try loop.add(transfer)
      let head = try await wait(for: transfer) { try await transfer.waitForHead() }
      guard let target = transfer.redirectURL else { return (transfer, head) }
      guard redirects < request.redirectLimit else {
        throw HTTPClientError.tooManyRedirects(
          url: request.url.redactedForDisplay, limit: request.redirectLimit)
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
