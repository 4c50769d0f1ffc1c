import Foundation
import RunnerCore

/// The body of a reply as chunks of at most `HTTPClientConfiguration.receiveBufferSize` bytes.
///
/// The transfer pauses while `streamBufferLimit` bytes wait unread, so a slow consumer keeps
/// memory flat however large the body is. Iterate it once. Dropping the stream (and its
/// iterators) before the end, or cancelling the task that iterates, aborts the transfer.
package struct HTTPBodyStream: AsyncSequence, Sendable {
  package typealias Element = Data

  /// Aborts the transfer when the last copy of the stream and its iterators goes away.
  package final class Owner: Sendable {
    package let transfer: CurlTransfer
    package let loop: CurlMultiLoop

    package init(transfer: CurlTransfer, loop: CurlMultiLoop) {
      self.transfer = transfer
      self.loop = loop
    }

    deinit { loop.cancel(transfer) }
  }

  package struct AsyncIterator: AsyncIteratorProtocol {
    package let owner: Owner

    /// The next chunk, or nil after the last one; throws `HTTPClientError` when the transfer
    /// fails and `CancellationError` when the task is cancelled.
    package mutating func next() async throws -> Data? {
      let owner = owner
      return try await withTaskCancellationHandler {
        try await owner.transfer.nextChunk(resumingWith: owner.loop)
      } onCancel: {
        owner.loop.cancel(owner.transfer)
      }
    }
  }

  private let owner: Owner

  package init(transfer: CurlTransfer, loop: CurlMultiLoop) {
    owner = Owner(transfer: transfer, loop: loop)
  }

  package func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(owner: owner)
  }
}
