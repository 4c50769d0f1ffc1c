import CZlibShim
import Foundation
import Protocols
import RunnerCore

/// Writes the `gzip` artifact format GitLab expects for reports such as JUnit: one gzip member
/// per file, concatenated into one file. Files are streamed through zlib in slices, never
/// loaded whole.
package enum GzipReportWriter {
  package static let sliceSize = 64 * 1024

  /// Compresses each of `files` into its own member, in order, into `destination` (replaced
  /// if it exists).
  package static func write(members files: [URL], to destination: URL) throws(GzipReportError) {
    guard FileManager.default.createFile(atPath: destination.path, contents: nil) else {
      throw .cannotCreate(destination: destination.path, reason: "could not create the file")
    }
    let output: FileHandle
    do {
      output = try FileHandle(forWritingTo: destination)
    } catch {
      throw .cannotCreate(destination: destination.path, reason: "\(error)")
    }
    defer { try? output.close() }
    for file in files {
      try appendMember(of: file, to: output, destination: destination)
    }
  }

  private static func appendMember(of file: URL, to output: FileHandle, destination: URL)
    throws(GzipReportError)
  {
    let input: FileHandle
    do {
      input = try FileHandle(forReadingFrom: file)
    } catch {
      throw .cannotRead(file: file.path, reason: "\(error)")
    }
    defer { try? input.close() }

    let compressor = try Deflater(file: file.path)
    while true {
      let slice: Data
      do {
        slice = try input.read(upToCount: sliceSize) ?? Data()
      } catch {
        throw .cannotRead(file: file.path, reason: "\(error)")
      }
      let finished = slice.isEmpty
      let compressed = try compressor.deflate(slice, finish: finished)
      do {
        try output.write(contentsOf: compressed)
      } catch {
        throw .cannotWrite(destination: destination.path, reason: "\(error)")
      }
      if finished { return }
    }
  }
}

/// One zlib deflate stream producing a single gzip member.
///
/// zlib keeps a pointer back to its z_stream and refuses a stream that moved, so the struct
/// lives at one fixed heap address for the whole member.
private final class Deflater {
  private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
  private let file: String

  init(file: String) throws(GzipReportError) {
    self.file = file
    stream.initialize(to: z_stream())
    let status = lr_deflate_init_gzip(stream, Z_DEFAULT_COMPRESSION)
    // deinit frees the stream when this throws; deflateEnd ignores a stream that never started.
    guard status == Z_OK else { throw .zlib(file: file, status: status) }
  }

  deinit {
    deflateEnd(stream)
    stream.deallocate()
  }

  func deflate(_ input: Data, finish: Bool) throws(GzipReportError) -> Data {
    var output = Data()
    var outBuffer = [UInt8](repeating: 0, count: GzipReportWriter.sliceSize)
    var input = input
    let status: Int32 = input.withUnsafeMutableBytes { raw in
      stream.pointee.next_in = raw.bindMemory(to: Bytef.self).baseAddress
      stream.pointee.avail_in = uInt(raw.count)
      var status = Z_OK
      repeat {
        status = outBuffer.withUnsafeMutableBufferPointer { out in
          stream.pointee.next_out = out.baseAddress
          stream.pointee.avail_out = uInt(out.count)
          let result = CZlibShim.deflate(stream, finish ? Z_FINISH : Z_NO_FLUSH)
          output.append(out.baseAddress!, count: out.count - Int(stream.pointee.avail_out))
          return result
        }
        // Without Z_FINISH, Z_BUF_ERROR only says no progress was possible: the input is used up.
        if status == Z_BUF_ERROR && !finish { status = Z_OK }
      } while status == Z_OK && (stream.pointee.avail_out == 0 || (finish && status != Z_STREAM_END))
      stream.pointee.next_in = nil
      return status
    }
    let expected = finish ? Z_STREAM_END : Z_OK
    guard status == expected else { throw .zlib(file: file, status: status) }
    return output
  }
}

package enum GzipReportError: Error, Equatable, CustomStringConvertible {
  case cannotCreate(destination: String, reason: String)
  case cannotRead(file: String, reason: String)
  case cannotWrite(destination: String, reason: String)
  case zlib(file: String, status: Int32)

  package var description: String {
    switch self {
    case .cannotCreate(let destination, let reason):
      return "cannot create the report archive \(destination): \(reason); check that its "
        + "directory exists and is writable"
    case .cannotRead(let file, let reason):
      return "cannot read report file \(file) to compress it: \(reason); check that the job "
        + "produced it and that it is readable"
    case .cannotWrite(let destination, let reason):
      return "cannot write the report archive \(destination): \(reason); check free disk space"
    case .zlib(let file, let status):
      return "zlib failed (status \(status)) while compressing report file \(file); this is a "
        + "runner bug or a broken zlib, please report it"
    }
  }
}
