import Foundation

/// Figures from /proc/self/status, for tests that bound memory or thread use.
public enum ProcessStatus {
  /// Resident memory now, in bytes.
  public static var residentBytes: Int { field("VmRSS") * 1024 }
  /// The highest resident memory so far, in bytes.
  public static var peakResidentBytes: Int { field("VmHWM") * 1024 }
  public static var threadCount: Int { field("Threads") }

  private static func field(_ name: String) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
      let digits = line.dropFirst(name.count + 1).filter(\.isNumber)
      return Int(digits) ?? -1
    }
    return -1
  }
}

/// A deterministic byte sequence of any length, generated from a repeating block whose size is
/// prime, so that a lost or repeated chunk of a body shows up as a mismatch.
public enum BodyPattern {
  public static let block: Data = {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var bytes = [UInt8](repeating: 0, count: 1_048_573)
    for index in bytes.indices {
      state ^= state << 13
      state ^= state >> 7
      state ^= state << 17
      bytes[index] = UInt8(truncatingIfNeeded: state)
    }
    return Data(bytes)
  }()

  /// Writes `count` bytes of the pattern to `connection`; false when the peer went away.
  public static func write(count: Int64, to connection: RawConnection) -> Bool {
    var left = count
    return block.withUnsafeBytes { buffer in
      while left > 0 {
        let size = Int(min(Int64(buffer.count), left))
        guard connection.write(UnsafeRawBufferPointer(rebasing: buffer[0..<size])) else { return false }
        left -= Int64(size)
      }
      return true
    }
  }
}

/// Checks bytes against `BodyPattern` as they arrive, with memcmp speed.
public struct BodyPatternVerifier {
  public private(set) var count: Int64 = 0
  public private(set) var matches = true

  public init() {}

  public mutating func consume(_ chunk: Data) {
    chunk.withUnsafeBytes { consume($0) }
  }

  public mutating func consume(_ chunk: UnsafeRawBufferPointer) {
    let block = BodyPattern.block
    var offset = 0
    block.withUnsafeBytes { pattern in
      while offset < chunk.count {
        let position = Int(count % Int64(pattern.count))
        let size = min(chunk.count - offset, pattern.count - position)
        if memcmp(chunk.baseAddress! + offset, pattern.baseAddress! + position, size) != 0 {
          matches = false
        }
        offset += size
        count += Int64(size)
      }
    }
  }
}
