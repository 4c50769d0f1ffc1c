import CCurl
import Foundation
import RunnerCore

/// One request and its reply (one redirect hop) on its own libcurl easy handle.
///
/// libcurl calls back on the multi loop's thread only; the state those callbacks use is touched
/// by nothing else until the handle is removed. Async callers see the transfer through the state
/// behind `lock`: the published head, the outcome, and the chunks of a body stream.
package final class CurlTransfer: @unchecked Sendable {
  /// Where the body of the final reply goes.
  package enum BodyMode: Sendable {
    case memory(limit: Int)
    /// 2xx bodies go to the open file, at most `limit` bytes (nil: no limit); other bodies are
    /// kept (truncated) in memory.
    case download(fileDescriptor: Int32, limit: Int64?)
    case stream(bufferLimit: Int)
  }

  package enum UploadSource {
    case data(Data)
    case file(descriptor: Int32, path: String)
  }

  private enum Target {
    case undecided
    case discard
    case memory(limit: Int, truncates: Bool)
    case file(Int32, limit: Int64?)
    case stream(limit: Int)
  }

  package static let errorBodyLimit = 64 << 10
  package static let redirectStatuses: Set<Int> = [301, 302, 303, 307, 308]

  package let easy: UnsafeMutableRawPointer
  package let url: URL
  package let mode: BodyMode
  package let capturesRedirects: Bool

  // Owned resources, released with the handle (see `release()`).
  package var headerList: UnsafeMutablePointer<curl_slist>?
  package var mime: OpaquePointer?
  package var upload: UploadSource?
  package var uploadOffset = 0
  package let errorBuffer: UnsafeMutablePointer<CChar>
  private var isReleased = false

  // Callback (loop thread) state.
  private var status = 0
  private var headers = HTTPHeaders()
  private var headComplete = false
  private var isRedirectHop = false
  private var target = Target.undecided
  private var callbackFailure: HTTPClientError?
  private var memoryBody = Data()
  private var fileBytes: Int64 = 0

  // Shared state, behind `lock`.
  private let lock = NSLock()
  private var publishedHead: HTTPResponseHead?
  private var outcome: Result<Void, any Error>?
  private var redirectTarget: URL?
  private var headWaiter: CheckedContinuation<HTTPResponseHead, any Error>?
  private var doneWaiter: CheckedContinuation<Void, any Error>?
  private var chunkWaiter: CheckedContinuation<Data?, any Error>?
  private var chunks: [Data] = []
  private var bufferedBytes = 0
  private var isPaused = false

  package init(easy: UnsafeMutableRawPointer, url: URL, mode: BodyMode, capturesRedirects: Bool) {
    self.easy = easy
    self.url = url
    self.mode = mode
    self.capturesRedirects = capturesRedirects
    let size = lr_error_size()
    errorBuffer = .allocate(capacity: size)
    errorBuffer.initialize(repeating: 0, count: size)
  }

  deinit { release() }

  /// Frees the handle and what it points to; the handle must no longer be in the multi handle.
  package func release() {
    guard !isReleased else { return }
    isReleased = true
    curl_easy_cleanup(easy)
    if let mime { curl_mime_free(mime) }
    if let headerList { curl_slist_free_all(headerList) }
    if case .file(let descriptor, _) = upload { close(descriptor) }
    errorBuffer.deallocate()
  }

  // MARK: Async side

  package func waitForHead() async throws -> HTTPResponseHead {
    try await withCheckedThrowingContinuation { continuation in
      lock.lock()
      if let head = publishedHead {
        lock.unlock()
        continuation.resume(returning: head)
      } else if let outcome {
        lock.unlock()
        continuation.resume(with: outcome.flatMap { .failure(self.noReplyError()) })
      } else {
        headWaiter = continuation
        lock.unlock()
      }
    }
  }

  package func waitForCompletion() async throws {
    try await withCheckedThrowingContinuation { continuation in
      lock.lock()
      if let outcome {
        lock.unlock()
        continuation.resume(with: outcome)
      } else {
        doneWaiter = continuation
        lock.unlock()
      }
    }
  }

  /// The next chunk of a streamed body, or nil at its end. Asks `loop` to resume the transfer
  /// when the buffer has drained to half its limit.
  package func nextChunk(resumingWith loop: CurlMultiLoop) async throws -> Data? {
    try await withCheckedThrowingContinuation { continuation in
      lock.lock()
      if !chunks.isEmpty {
        let chunk = chunks.removeFirst()
        bufferedBytes -= chunk.count
        var resume = false
        if isPaused, case .stream(let limit) = mode, bufferedBytes <= limit / 2 {
          isPaused = false
          resume = true
        }
        lock.unlock()
        if resume { loop.resume(self) }
        continuation.resume(returning: chunk)
      } else if let outcome {
        lock.unlock()
        continuation.resume(with: outcome.map { nil })
      } else {
        chunkWaiter = continuation
        lock.unlock()
      }
    }
  }

  /// Valid once the transfer completed.
  package var completedBody: Data {
    lock.withLock { memoryBody }
  }

  package var completedFileBytes: Int64 {
    lock.withLock { fileBytes }
  }

  /// Where a captured redirect points; set before its head is published.
  package var redirectURL: URL? {
    lock.withLock { redirectTarget }
  }

  // MARK: Loop side

  /// Ends the transfer with `result`; called on the loop thread after the handle was removed.
  package func finish(_ result: Result<Void, any Error>) {
    lock.lock()
    guard outcome == nil else {
      lock.unlock()
      return
    }
    outcome = result
    let head = headWaiter
    let done = doneWaiter
    let chunk = chunkWaiter
    headWaiter = nil
    doneWaiter = nil
    chunkWaiter = nil
    lock.unlock()
    head?.resume(with: result.flatMap { .failure(noReplyError()) })
    done?.resume(with: result)
    chunk?.resume(with: result.map { nil })
  }

  /// Turns libcurl's result into the transfer's outcome.
  package func complete(code: CURLcode) {
    guard code == CURLE_OK else {
      finish(.failure(callbackFailure ?? HTTPClientError(curlCode: code, detail: errorText, url: url)))
      return
    }
    if !headComplete, status >= 200 {
      headDidComplete()
    }
    if isRedirectHop {
      var location: UnsafeMutablePointer<CChar>?
      let target =
        lr_easy_getinfo_string(easy, CURLINFO_REDIRECT_URL, &location) == CURLE_OK
        ? location.flatMap { URL(string: String(cString: $0)) } : nil
      lock.withLock { redirectTarget = target ?? resolvedLocation() }
      publish(HTTPResponseHead(status: status, headers: headers, url: url))
    }
    finish(.success(()))
  }

  private var errorText: String {
    String(cString: errorBuffer)
  }

  private func resolvedLocation() -> URL? {
    headers["Location"].flatMap { URL(string: $0, relativeTo: url)?.absoluteURL }
  }

  private func noReplyError() -> HTTPClientError {
    .connectionLost(url: url.maskedForDisplay, detail: "the server sent no complete reply header")
  }

  private func publish(_ head: HTTPResponseHead) {
    lock.lock()
    publishedHead = head
    let waiter = headWaiter
    headWaiter = nil
    lock.unlock()
    waiter?.resume(returning: head)
  }

  fileprivate func receiveHeaderLine(_ bytes: UnsafeRawBufferPointer) {
    var end = bytes.count
    while end > 0, bytes[end - 1] == UInt8(ascii: "\n") || bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
    let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
      // A new status line: an interim 1xx reply came before, or this is the first one.
      let parts = line.split(separator: " ", maxSplits: 2)
      status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
      headers = HTTPHeaders()
      headComplete = false
      return
    }
    guard !headComplete else { return }  // trailers after a chunked body
    if line.isEmpty {
      if status >= 200 { headDidComplete() }
      return
    }
    if let first = line.first, first == " " || first == "\t", let last = headers.fields.last {
      headers.remove(last.name)
      headers.add(name: last.name, value: last.value + " " + line.trimmingCharacters(in: .whitespaces))
      return
    }
    guard let colon = line.firstIndex(of: ":") else { return }
    let name = String(line[..<colon])
    let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    headers.add(name: name, value: value)
  }

  private func headDidComplete() {
    headComplete = true
    if capturesRedirects, Self.redirectStatuses.contains(status), headers.contains("Location") {
      isRedirectHop = true
      target = .discard
      return
    }
    let head = HTTPResponseHead(status: status, headers: headers, url: url)
    switch mode {
    case .memory(let limit):
      target = .memory(limit: limit, truncates: false)
    case .download(let descriptor, let limit):
      target =
        head.isSuccess
        ? .file(descriptor, limit: limit) : .memory(limit: Self.errorBodyLimit, truncates: true)
    case .stream(let limit):
      target = .stream(limit: limit)
    }
    publish(head)
  }

  fileprivate func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
    if !headComplete { headDidComplete() }
    switch target {
    case .undecided, .discard:
      return bytes.count
    case .memory(let limit, let truncates):
      if memoryBody.count + bytes.count > limit {
        guard truncates else {
          callbackFailure = .bodyTooLarge(url: url.maskedForDisplay, limit: limit)
          return 0
        }
        memoryBody.append(contentsOf: bytes.prefix(max(0, limit - memoryBody.count)))
        return bytes.count
      }
      memoryBody.append(contentsOf: bytes)
      return bytes.count
    case .file(let descriptor, let limit):
      if let limit, fileBytes + Int64(bytes.count) > limit {
        callbackFailure = .bodyTooLarge(url: url.maskedForDisplay, limit: Int(limit))
        return 0
      }
      return writeToFile(descriptor, bytes)
    case .stream(let limit):
      return bufferChunk(bytes, limit: limit)
    }
  }

  private func writeToFile(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
    var offset = 0
    while offset < bytes.count {
      let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
      if written < 0 {
        if errno == EINTR { continue }
        let reason = String(cString: strerror(errno))
        callbackFailure = .fileAccess(path: "download target", detail: "write failed: \(reason)")
        return 0
      }
      offset += written
    }
    fileBytes += Int64(bytes.count)
    return bytes.count
  }

  private func bufferChunk(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Int {
    lock.lock()
    if bufferedBytes >= limit {
      // libcurl keeps these bytes and offers them again once the transfer is resumed.
      isPaused = true
      lock.unlock()
      return lr_writefunc_pause()
    }
    let chunk = Data(bytes)
    let waiter = chunkWaiter
    chunkWaiter = nil
    if waiter == nil {
      chunks.append(chunk)
      bufferedBytes += chunk.count
    }
    lock.unlock()
    waiter?.resume(returning: chunk)
    return bytes.count
  }

  fileprivate func readBody(into buffer: UnsafeMutableRawBufferPointer) -> Int {
    switch upload {
    case nil:
      return 0
    case .data(let data):
      let count = min(buffer.count, data.count - uploadOffset)
      let start = data.startIndex + uploadOffset
      data.copyBytes(to: buffer.bindMemory(to: UInt8.self), from: start..<start + count)
      uploadOffset += count
      return count
    case .file(let descriptor, let path):
      while true {
        let count = read(descriptor, buffer.baseAddress, buffer.count)
        if count >= 0 { return count }
        if errno == EINTR { continue }
        callbackFailure = .fileAccess(path: path, detail: "read failed: \(String(cString: strerror(errno)))")
        return lr_readfunc_abort()
      }
    }
  }

  /// libcurl rewinds the body when it must send it again, e.g. on a reused connection that
  /// the server had closed.
  fileprivate func seekBody(to offset: Int64) -> Int32 {
    switch upload {
    case nil:
      return offset == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL
    case .data(let data):
      guard offset >= 0, offset <= data.count else { return CURL_SEEKFUNC_FAIL }
      uploadOffset = Int(offset)
      return CURL_SEEKFUNC_OK
    case .file(let descriptor, _):
      return lseek(descriptor, off_t(offset), SEEK_SET) < 0 ? CURL_SEEKFUNC_FAIL : CURL_SEEKFUNC_OK
    }
  }
}

// The C entry points libcurl calls; `userdata` is the unretained transfer, which the multi loop
// keeps alive while the handle is in the multi handle.

package let curlHeaderCallback: lr_data_callback = { buffer, size, count, userdata in
  let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
  transfer.receiveHeaderLine(UnsafeRawBufferPointer(start: buffer, count: size * count))
  return size * count
}

package let curlWriteCallback: lr_data_callback = { buffer, size, count, userdata in
  let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
  return transfer.receiveBody(UnsafeRawBufferPointer(start: buffer, count: size * count))
}

package let curlReadCallback: lr_data_callback = { buffer, size, count, userdata in
  let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
  return transfer.readBody(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
}

package let curlSeekCallback: lr_seek_callback = { userdata, offset, origin in
  guard origin == SEEK_SET else { return CURL_SEEKFUNC_CANTSEEK }
  let transfer = Unmanaged<CurlTransfer>.fromOpaque(userdata!).takeUnretainedValue()
  return transfer.seekBody(to: Int64(offset))
}
