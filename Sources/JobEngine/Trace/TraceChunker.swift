import Protocols
import RunnerCore

/// The bookkeeping of `PATCH jobs/:id/trace`: which masked log bytes to send next and what to
/// forget once GitLab has them. Pure logic; the caller does the HTTP.
///
/// Bytes are kept until GitLab confirms it holds them (a `Range: 0-N` in a 202 or 416 reply),
/// never merely because they were sent: a request can be applied by GitLab while its reply is
/// lost, or fail while GitLab applied nothing, and only GitLab's own count tells which. Every
/// chunk therefore starts at the acknowledged length, so no byte is skipped, and a chunk
/// GitLab already applied is answered by a 416 that moves the acknowledged length forward
/// instead of being appended twice.
package struct TraceChunker: Sendable {
  /// GitLab's limit per PATCH request.
  package static let defaultMaximumChunkSize = 1024 * 1024

  package let maximumChunkSize: Int
  /// Bytes from `acknowledgedLength` up to `totalLength`, not yet confirmed by GitLab.
  package private(set) var unacknowledged: [UInt8] = []
  /// How many log bytes GitLab has confirmed holding.
  package private(set) var acknowledgedLength = 0

  package init(maximumChunkSize: Int = TraceChunker.defaultMaximumChunkSize) {
    precondition(maximumChunkSize > 0, "a trace chunk must be able to carry at least one byte")
    self.maximumChunkSize = maximumChunkSize
  }

  /// Every byte ever appended: the log length once everything is acknowledged.
  package var totalLength: Int { acknowledgedLength + unacknowledged.count }

  package var isFullyAcknowledged: Bool { unacknowledged.isEmpty }

  package mutating func append(_ bytes: some Sequence<UInt8>) {
    unacknowledged.append(contentsOf: bytes)
  }

  /// The next PATCH to send, or nil when GitLab already holds everything.
  package func nextChunk() -> TraceChunk? {
    guard !unacknowledged.isEmpty else { return nil }
    let count = min(maximumChunkSize, unacknowledged.count)
    return TraceChunk(offset: acknowledgedLength, bytes: Array(unacknowledged.prefix(count)))
  }

  /// Applies GitLab's reply to `chunk`.
  ///
  /// - Parameter remoteLength: N from the reply's `Range: 0-N` header (see
  ///   `parseRemoteLength`), nil when the header was missing or unreadable.
  @discardableResult
  package mutating func apply(_ reply: TraceReply, to chunk: TraceChunk) throws(TraceChunkerError)
    -> TraceReplyEffect
  {
    switch reply {
    case .accepted(let remoteLength):
      // Without a Range header, a 202 still means the chunk was appended in full.
      return try moveAcknowledged(to: remoteLength ?? chunk.endOffset)
    case .rangeNotSatisfiable(let remoteLength):
      guard let remoteLength else { throw .missingRemoteRange }
      return try moveAcknowledged(to: remoteLength)
    case .failed:
      return .unchanged
    }
  }

  private mutating func moveAcknowledged(to remoteLength: Int) throws(TraceChunkerError)
    -> TraceReplyEffect
  {
    if remoteLength < acknowledgedLength {
      // GitLab lost bytes it had confirmed (e.g. a trace reset); they are no longer held here.
      throw .remoteBehindAcknowledged(remote: remoteLength, acknowledged: acknowledgedLength)
    }
    if remoteLength > totalLength {
      throw .remoteAheadOfLog(remote: remoteLength, logLength: totalLength)
    }
    let dropped = remoteLength - acknowledgedLength
    unacknowledged.removeFirst(dropped)
    acknowledgedLength = remoteLength
    return dropped == 0 ? .unchanged : .acknowledged(bytes: dropped)
  }

  /// Reads N from a `Range: 0-N` header value: the number of bytes GitLab holds.
  package static func parseRemoteLength(_ header: String) -> Int? {
    let parts = header.trimmingWhitespace().split(separator: "-", omittingEmptySubsequences: false)
    guard parts.count == 2, parts[0] == "0", let length = Int(parts[1]), length >= 0 else {
      return nil
    }
    return length
  }
}

/// One PATCH request body and where it goes in the log.
package struct TraceChunk: Sendable, Equatable {
  /// The offset of the first byte in the whole log.
  package let offset: Int
  package let bytes: [UInt8]

  /// One past the last byte: where the next chunk starts once this one is accepted.
  package var endOffset: Int { offset + bytes.count }

  /// The `Content-Range` header value: inclusive first and last offsets.
  package var contentRange: String { "\(offset)-\(endOffset - 1)" }
}

/// What GitLab answered to a trace PATCH, reduced to what the chunker needs.
package enum TraceReply: Sendable, Equatable {
  /// 202, with N from `Range: 0-N` when present.
  case accepted(remoteLength: Int?)
  /// 416: GitLab holds N bytes and wants the log from there.
  case rangeNotSatisfiable(remoteLength: Int?)
  /// A transport error or any other status: GitLab's state is unknown, keep everything.
  case failed
}

package enum TraceReplyEffect: Sendable, Equatable {
  case acknowledged(bytes: Int)
  case unchanged
}

package enum TraceChunkerError: Error, Equatable, CustomStringConvertible {
  case missingRemoteRange
  case remoteBehindAcknowledged(remote: Int, acknowledged: Int)
  case remoteAheadOfLog(remote: Int, logLength: Int)

  package var description: String {
    switch self {
    case .missingRemoteRange:
      return "GitLab refused a job log chunk (416) without saying how much of the log it holds "
        + "(no readable 'Range: 0-N' header); the log cannot be resumed. Check that no proxy "
        + "strips the Range header."
    case .remoteBehindAcknowledged(let remote, let acknowledged):
      return "GitLab now holds \(remote) bytes of the job log but had confirmed \(acknowledged); "
        + "the bytes in between are no longer buffered, so the log has to be sent again from "
        + "the start."
    case .remoteAheadOfLog(let remote, let logLength):
      return "GitLab claims to hold \(remote) bytes of the job log, more than the \(logLength) "
        + "bytes produced; another runner may be writing to this job."
    }
  }
}

extension String {
  fileprivate func trimmingWhitespace() -> Substring {
    var view = self[...]
    while let first = view.first, first.isWhitespace { view.removeFirst() }
    while let last = view.last, last.isWhitespace { view.removeLast() }
    return view
  }
}
