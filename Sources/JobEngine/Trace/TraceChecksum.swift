import CZlibShim
import Protocols
import RunnerCore

/// The CRC-32 (IEEE) of every byte of the job log sent to GitLab, in the form the final
/// job update carries as `output.checksum` when `trace_checksum` is advertised.
///
/// GitLab compares it with the log it stored; a mismatch makes it ask for the whole log again,
/// so it must cover exactly the masked bytes that were sent, in order.
package struct TraceChecksum: Sendable, Equatable {
  package private(set) var value: UInt32 = 0
  /// The number of bytes folded in so far: the `output.bytesize` of the final update.
  package private(set) var byteCount: Int = 0

  package init() {}

  package mutating func update(_ bytes: some Sequence<UInt8>) {
    let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
      fold(buffer)
    }
    if handled == nil {
      let copy = Array(bytes)
      copy.withUnsafeBufferPointer { fold($0) }
    }
  }

  /// The official runner's wire format: `crc32:` and eight lower-case hex digits.
  package var formatted: String {
    let hex = String(value, radix: 16)
    return "crc32:" + String(repeating: "0", count: 8 - hex.count) + hex
  }

  private mutating func fold(_ buffer: UnsafeBufferPointer<UInt8>) {
    guard var base = buffer.baseAddress else { return }
    var remaining = buffer.count
    // zlib takes a 32-bit length; larger buffers are folded in slices.
    while remaining > 0 {
      let slice = min(remaining, Int(UInt32.max >> 1))
      value = UInt32(crc32(uLong(value), base, uInt(slice)))
      base += slice
      remaining -= slice
    }
    byteCount += buffer.count
  }
}
