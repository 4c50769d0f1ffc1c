import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A state-directory file operation that failed, with the path and the system's reason.
package struct StateFileError: Error, Equatable, CustomStringConvertible {
  package var path: String
  package var operation: String
  package var reason: String

  package var description: String { "cannot \(operation) \(path): \(reason)" }
}

/// Durable writes for the state directory.
package enum StateFile {
  /// Replaces `url` with `data` so that a process killed at any moment leaves either the old
  /// file or the new one, never a mix: written to a temporary file (0600) in the same folder,
  /// synced, renamed over `url`, and the folder synced so that the rename itself survives.
  package static func writeAtomically(_ data: Data, to url: URL) throws(StateFileError) {
    let folder = url.deletingLastPathComponent()
    let temporary = folder.appendingPathComponent(".\(url.lastPathComponent).tmp")
    let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw failure(temporary, "create") }
    var closed = false
    defer { if !closed { close(descriptor) } }
    guard fchmod(descriptor, 0o600) == 0 else { throw failure(temporary, "chmod") }
    let written: Int = data.withUnsafeBytes { buffer in
      var offset = 0
      while offset < buffer.count {
        let count = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
        if count < 0 {
          if errno == EINTR { continue }
          return -1
        }
        offset += count
      }
      return offset
    }
    guard written == data.count else { throw failure(temporary, "write") }
    guard fsync(descriptor) == 0 else { throw failure(temporary, "sync") }
    closed = true
    guard close(descriptor) == 0 else { throw failure(temporary, "close") }
    guard rename(temporary.path, url.path) == 0 else { throw failure(url, "rename into place") }
    try syncDirectory(folder)
  }

  /// Makes the folder's entries (a rename, a new file) durable.
  package static func syncDirectory(_ folder: URL) throws(StateFileError) {
    let descriptor = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else { throw failure(folder, "open") }
    defer { close(descriptor) }
    guard fsync(descriptor) == 0 else { throw failure(folder, "sync") }
  }

  private static func failure(_ url: URL, _ operation: String) -> StateFileError {
    StateFileError(path: url.path, operation: operation, reason: String(cString: strerror(errno)))
  }
}
