import Foundation

/// Masks a file that may be too large to hold in memory (a LAVA JUnit report): read in blocks,
/// each piece masked on its own and written to a new file that then replaces the original.
///
/// Pieces end at a line break, so a secret (which holds none) is never cut in two between
/// pieces: the end of a block after its last line break is carried into the next piece. A line
/// longer than `maxCarry` is cut after its last blank, quote or angle bracket, none of which a
/// masked value holds either (GitLab refuses them in masked variables; LAVA tokens are one
/// word); only a run of `maxCarry` bytes with none of them is cut anywhere.
enum FileMasking {
  static let blockSize = 1 << 20
  static let maxCarry = 8 << 20

  /// Replaces `file` by its masked form; leaves it untouched when `mask` changes nothing.
  static func maskInPlace(
    _ file: URL, mask: (String) -> String, blockSize: Int = blockSize, maxCarry: Int = maxCarry
  ) throws {
    let reader = try FileHandle(forReadingFrom: file)
    defer { try? reader.close() }
    let output = file.deletingLastPathComponent()
      .appendingPathComponent(".\(file.lastPathComponent).masking-\(UUID().uuidString)")
    guard FileManager.default.createFile(atPath: output.path, contents: nil) else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: output.path])
    }
    var keepsOutput = false
    defer { if !keepsOutput { try? FileManager.default.removeItem(at: output) } }
    let writer = try FileHandle(forWritingTo: output)
    defer { try? writer.close() }

    var changed = false
    var carry = Data()
    func emit(_ piece: Data) throws {
      let text = String(decoding: piece, as: UTF8.self)
      let masked = mask(text)
      if masked == text {
        try writer.write(contentsOf: piece)
      } else {
        changed = true
        try writer.write(contentsOf: Data(masked.utf8))
      }
    }
    while let block = try reader.read(upToCount: blockSize), !block.isEmpty {
      carry.append(block)
      guard let cut = cutPoint(in: carry, maxCarry: maxCarry) else { continue }
      try emit(carry[..<cut])
      carry = Data(carry[cut...])
    }
    try emit(carry)
    guard changed else { return }
    try writer.synchronize()
    guard rename(output.path, file.path) == 0 else {
      throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file.path])
    }
    keepsOutput = true
  }

  /// Where a piece of `data` may end, or nil to read on.
  static func cutPoint(in data: Data, maxCarry: Int) -> Int? {
    if let newline = data.lastIndex(of: UInt8(ascii: "\n")) { return newline + 1 }
    guard data.count >= maxCarry else { return nil }
    let separators: Set<UInt8> = [0x20, 0x09, 0x0D, UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\"")]
    if let separator = data.lastIndex(where: separators.contains) { return separator + 1 }
    // No separator at all: cut before a UTF-8 sequence that the block may have split.
    var end = data.endIndex - 1
    while end > data.startIndex, data[end] & 0xC0 == 0x80 { end -= 1 }
    return end > data.startIndex ? end : data.endIndex
  }
}
