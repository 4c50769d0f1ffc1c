import Foundation
import GitLabAPI
import Protocols
import RunnerCore

/// Files from the artifacts of a job's dependencies. Each dependency's archive is downloaded
/// once per job (with that dependency's own token), kept in the job's folder and removed with it.
package actor DependencyFiles {
  private let client: GitLabClient
  private let dependencies: [JobPayload.Dependency]
  private let directory: URL
  private let log: any JobLog
  private var archives: [Int64: Archive] = [:]
  package var attempts = 3
  package var backoff = RetryPolicy(initial: .seconds(1), maximum: .seconds(10))

  private enum Archive {
    case file(URL)
    case unavailable(String, transient: Bool)
  }

  package init(client: GitLabClient, dependencies: [JobPayload.Dependency], directory: URL, log: any JobLog) {
    self.client = client
    self.dependencies = dependencies
    self.directory = directory
    self.log = log
  }

  /// Looks `path` up in each dependency's artifacts, in the job's order, and returns the
  /// first match extracted into the job's folder; `announcing`: says in the job log where.
  package func file(at path: String, announcing: Bool = true) async throws -> URL {
    guard let wanted = ArchivePath.normalize(path), !wanted.isEmpty else {
      throw DependencyFileError.badPath(path)
    }
    var searched: [String] = []
    var unavailable: [String] = []
    var transient = false
    for dependency in dependencies {
      let label = "\(dependency.name) (job \(dependency.id))"
      switch await archive(of: dependency) {
      case .unavailable(let reason, let isTransient):
        unavailable.append("\(label): \(reason)")
        transient = transient || isTransient
      case .file(let archiveURL):
        let target = directory.appendingPathComponent("files/\(dependency.id)", isDirectory: true)
        do {
          let archive = try DependencyArchive(opening: archiveURL)
          if archive.entry(at: wanted) != nil {
            let found = try archive.extract(wanted, into: target)
            if announcing { await log.line("Found \(wanted) in the artifacts of \(label)", color: .gray) }
            return found
          }
          searched.append(label)
        } catch {
          unavailable.append("\(label): \(error)")
        }
      }
    }
    throw DependencyFileError.notFound(
      path: wanted, searched: searched, unavailable: unavailable, transient: transient)
  }

  private func archive(of dependency: JobPayload.Dependency) async -> Archive {
    if let known = archives[dependency.id] { return known }
    let result = await download(dependency)
    archives[dependency.id] = result
    return result
  }

  private func download(_ dependency: JobPayload.Dependency) async -> Archive {
    if dependency.artifactsFile == nil {
      return .unavailable("it has no artifacts", transient: false)
    }
    try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let file = directory.appendingPathComponent("dependency-\(dependency.id).zip")
    var problem = ""
    for attempt in 1...attempts {
      do {
        let result = try await client.downloadArtifacts(
          jobID: dependency.id, token: dependency.token, to: file)
        switch result.head.status {
        case 200..<300:
          return .file(file)
        case 401, 403:
          return .unavailable(
            "its artifacts are forbidden (\(result.head.status)) to this job", transient: false)
        case 404:
          return .unavailable("its artifacts are gone (404: expired or erased)", transient: false)
        case let status:
          problem = "GitLab answered \(status)"
          if !(500...599).contains(status) && status != 429 && status != 408 {
            return .unavailable(problem, transient: false)
          }
        }
      } catch .cancelled {
        return .unavailable("the download was cancelled", transient: true)
      } catch {
        problem = error.description
        if !error.isTransient { return .unavailable(problem, transient: false) }
      }
      if attempt < attempts { try? await Task.sleep(for: backoff.delay(attempt: attempt)) }
    }
    return .unavailable("the download failed \(attempts) times, last: \(problem)", transient: true)
  }
}

/// A file asked for by a command that is not in any dependency's artifacts.
package enum DependencyFileError: JobFailure, Equatable {
  case notFound(path: String, searched: [String], unavailable: [String], transient: Bool)
  case badPath(String)

  package var failureReason: FailureReason {
    switch self {
    case .notFound(_, _, _, let transient): transient ? .runnerSystemFailure : .scriptFailure
    case .badPath: .scriptFailure
    }
  }

  package var description: String {
    switch self {
    case .badPath(let path):
      return
        "'\(path)' is not a relative path inside the artifacts; give it as the job that made it wrote it, "
        + "e.g. lava-job.yaml or out/lava-job.yaml"
    case .notFound(let path, let searched, let unavailable, _):
      var text = "\(path) is not in the artifacts of this job's dependencies"
      if searched.isEmpty && unavailable.isEmpty {
        return text
          + ": the job has no dependencies. Add the job that makes it under needs: or dependencies:, "
          + "with the file in its artifacts: paths."
      }
      if !searched.isEmpty { text += "\n  searched: " + searched.joined(separator: ", ") }
      if !unavailable.isEmpty { text += "\n  not available:\n    " + unavailable.joined(separator: "\n    ") }
      return text + "\nCheck the file name and that the job that makes it lists it under artifacts: paths."
    }
  }
}
