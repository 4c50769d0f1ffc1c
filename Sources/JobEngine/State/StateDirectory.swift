import Foundation
import Logging

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Why the state directory (`--state-dir`) cannot be used. The runner refuses to start then:
/// running without it would silently lose the jobs it is meant to keep.
package enum StateDirectoryError: Error, Equatable, CustomStringConvertible {
  case cannotCreate(path: String, reason: String)
  /// Another lava-runner holds the directory's lock.
  case locked(path: String)
  case cannotLock(path: String, reason: String)

  package var description: String {
    switch self {
    case .cannotCreate(let path, let reason):
      "cannot use the state directory \(path): \(reason)"
    case .locked(let path):
      "the state directory \(path) is in use by another lava-runner process (its lock file is held); "
        + "two runners must never resume the same jobs: give each runner a directory of its own"
    case .cannotLock(let path, let reason):
      "cannot lock the state directory \(path): \(reason)"
    }
  }
}

/// The runner's state directory: one folder per held job (`jobs/<id>/`: `record.json`, the trace
/// spool, the job's working files), a `corrupt/` folder for records that could not be read, and
/// a lock file held for the life of the process so that two runners never resume the same jobs.
/// Folders are 0700 and files 0600: records hold the job tokens and masked variables.
package final class StateDirectory: Sendable {
  package let url: URL
  private let lockDescriptor: Int32

  package var jobsURL: URL { url.appendingPathComponent("jobs", isDirectory: true) }
  package var corruptURL: URL { url.appendingPathComponent("corrupt", isDirectory: true) }

  /// Creates the directory if needed (0700), takes its lock, or throws.
  package init(_ url: URL) throws(StateDirectoryError) {
    self.url = url
    for folder in [url, url.appendingPathComponent("jobs"), url.appendingPathComponent("corrupt")] {
      do {
        try Self.makePrivateDirectory(folder)
      } catch {
        throw .cannotCreate(path: url.path, reason: error.description)
      }
    }
    let lockPath = url.appendingPathComponent("lock").path
    let descriptor = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    guard descriptor >= 0 else { throw .cannotLock(path: url.path, reason: String(cString: strerror(errno))) }
    if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
      let code = errno
      close(descriptor)
      if code == EWOULDBLOCK { throw .locked(path: url.path) }
      throw .cannotLock(path: url.path, reason: String(cString: strerror(code)))
    }
    lockDescriptor = descriptor
  }

  deinit { close(lockDescriptor) }

  /// The folder of job `id`, created empty (0700).
  package func newJobFolder(_ id: Int64) throws(StateFileError) -> URL {
    let folder = jobsURL.appendingPathComponent(String(id), isDirectory: true)
    try? FileManager.default.removeItem(at: folder)
    try Self.makePrivateDirectory(folder)
    try StateFile.syncDirectory(jobsURL)
    return folder
  }

  /// A job folder whose record could be read.
  package struct SavedJob: Sendable {
    package var folder: URL
    package var record: JobRecord
  }

  /// A job folder whose record could not be read, now in `corrupt/`; what could be read of its
  /// job id and token, to fail the job in GitLab.
  package struct CorruptJob: Sendable {
    package var movedTo: URL
    package var jobID: Int64?
    package var token: String?
    package var problem: String
  }

  /// Reads every job folder's record. A record that does not read or decode is moved aside to
  /// `corrupt/` with a warning (never a crash loop: it is not read again).
  package func load(logger: Logger) -> (saved: [SavedJob], corrupt: [CorruptJob]) {
    let folders =
      (try? FileManager.default.contentsOfDirectory(
        at: jobsURL, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles])) ?? []
    var saved: [SavedJob] = []
    var corrupt: [CorruptJob] = []
    for folder in folders.sorted(by: { $0.lastPathComponent < $1.lastPathComponent }) {
      let file = folder.appendingPathComponent(JobRecord.fileName)
      let problem: String
      let data = try? Data(contentsOf: file)
      if let data {
        do {
          let record = try JobRecord.decode(data)
          saved.append(SavedJob(folder: folder, record: record))
          continue
        } catch {
          problem = "it does not decode: \(error.description)"
        }
      } else {
        problem = "it cannot be read"
      }
      let identity = data.flatMap { try? JSONDecoder().decode(JobRecord.Identity.self, from: $0) }
      let target = corruptURL.appendingPathComponent(
        "\(folder.lastPathComponent)-\(Int(Date().timeIntervalSince1970))", isDirectory: true)
      do {
        try FileManager.default.moveItem(at: folder, to: target)
      } catch {
        // Cannot move it: remove it, so that it is not read again at every start.
        try? FileManager.default.removeItem(at: folder)
      }
      logger.warning(
        "a job record in the state directory is corrupt; moved aside",
        metadata: [
          "record": "\(file.path)", "moved_to": "\(target.path)", "problem": "\(problem)",
          "gitlab.job.id": "\(identity.map { String($0.jobID) } ?? "unknown")",
        ])
      corrupt.append(
        CorruptJob(movedTo: target, jobID: identity?.jobID, token: identity?.token, problem: problem))
    }
    return (saved, corrupt)
  }

  static func makePrivateDirectory(_ url: URL) throws(StateFileError) {
    do {
      try FileManager.default.createDirectory(
        at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    } catch {
      throw StateFileError(path: url.path, operation: "create", reason: "\(error.localizedDescription)")
    }
    guard chmod(url.path, 0o700) == 0 else {
      throw StateFileError(path: url.path, operation: "chmod", reason: String(cString: strerror(errno)))
    }
  }
}
