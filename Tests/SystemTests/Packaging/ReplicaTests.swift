import Foundation
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// `--system-id-file` (RUNNER_SYSTEM_ID_FILE): the runner keeps its system_id in a file of its
/// own, as the official runner keeps `.runner_system_id`.
struct SystemIDFileTests {
  static func scratch() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("system-id-\(UUID())")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
  }

  @Test func aMissingFileGetsANewRandomIdThatLaterStartsReadBack() throws {
    let directory = try Self.scratch()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent(".runner_system_id")
    let first = try RunnerIdentity.systemID(file: file)
    #expect(first.range(of: "^s_[0-9a-f]{12}$", options: .regularExpression) != nil, "\(first)")
    #expect(try String(contentsOf: file, encoding: .utf8) == first + "\n")
    #expect(try RunnerIdentity.systemID(file: file) == first)

    let other = directory.appendingPathComponent("other")
    #expect(try RunnerIdentity.systemID(file: other) != first, "two new files got the same id")
  }

  @Test func anIdWrittenByTheOfficialRunnerIsKept() throws {
    let directory = try Self.scratch()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent(".runner_system_id")
    try "r_BmJdiXfGe0Lc\n".write(to: file, atomically: true, encoding: .utf8)
    #expect(try RunnerIdentity.systemID(file: file) == "r_BmJdiXfGe0Lc")
  }

  @Test func aFileWithoutAnIdOrInAFolderThatIsNotThereIsAnErrorNamingTheFile() throws {
    let directory = try Self.scratch()
    defer { try? FileManager.default.removeItem(at: directory) }
    let file = directory.appendingPathComponent(".runner_system_id")
    try "machine-1\n".write(to: file, atomically: true, encoding: .utf8)
    #expect(throws: SystemIDFileError.malformed(path: file.path)) { try RunnerIdentity.systemID(file: file) }

    let nowhere = directory.appendingPathComponent("missing/.runner_system_id")
    do {
      _ = try RunnerIdentity.systemID(file: nowhere)
      Issue.record("a system id file in a missing folder was accepted")
    } catch {
      guard case .unwritable(let path, _) = error else {
        Issue.record("unexpected \(error)")
        return
      }
      #expect(path == nowhere.path)
      #expect(error.description.contains("RUNNER_SYSTEM_ID_FILE"))
    }
  }
}

/// Two replicas of a deployment, as two pods run them: the same runner token, each its own
/// state folder (and so its own system_id file), against one strict fake GitLab.
@Suite(.serialized) struct ReplicaTests {
  static let token = "glrt-replica-test-token-0123456789"

  @Test func twoReplicasWithOneTokenHaveTheirOwnSystemIDsShareTheQueueAndEachReportsItsOwnJobs() async throws
  {
    // Each final update is answered 202 twice (a second apart) before GitLab accepts it: a job
    // keeps its replica busy for about two seconds, so that with one job at a time each, both
    // replicas take some of the queue.
    try await FakeGitLab.withRunning(
      configuration: .init(longPollTimeout: .milliseconds(500), finalUpdateAcceptRounds: 2)
    ) { gitlab in
      await gitlab.addRunnerToken(Self.token)
      let states = try (0..<2).map { _ in try SystemIDFileTests.scratch() }
      defer { for state in states { try? FileManager.default.removeItem(at: state) } }
      let jobs = await (0..<6).asyncMap { index in
        await gitlab.enqueue(FakeJob(name: "job-\(index)", script: ["sumbit lava-job-\(index).yaml"]))
      }
      var replicas: [(Process, output: URL)] = []
      for (index, state) in states.enumerated() {
        replicas.append(
          try BuiltRunner.start(
            ["run", "--check-interval", "0.2", "--concurrent", "1"],
            environment: [
              "GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": Self.token,
              "RUNNER_NAME": "replica-\(index)",
              "RUNNER_SYSTEM_ID_FILE": state.appendingPathComponent(".runner_system_id").path,
            ]))
      }
      defer {
        for (process, output) in replicas {
          if process.isRunning { process.terminate() }
          process.waitUntilExit()
          try? FileManager.default.removeItem(at: output)
        }
      }
      for job in jobs {
        let result = try await gitlab.result(of: job.id, timeout: .seconds(60))
        #expect(result.failureReason == "script_failure")
      }

      let ids = try states.map {
        try String(contentsOf: $0.appendingPathComponent(".runner_system_id"), encoding: .utf8)
          .trimmingCharacters(in: .whitespacesAndNewlines)
      }
      #expect(Set(ids).count == 2, "the replicas share a system_id: \(ids)")
      let runner = try #require(await gitlab.registeredRunners.first { $0.token == Self.token })
      #expect(runner.systemIDs == Set(ids), "GitLab saw managers \(runner.systemIDs), the files hold \(ids)")

      var taken: [String: Int] = [:]
      for job in jobs {
        // Each job went to one manager, which ran it and reported it under its own id and name.
        let manager = try #require(
          await gitlab.runnerSystemID(of: job.id), "job \(job.id) was never handed out")
        let index = try #require(ids.firstIndex(of: manager))
        taken[manager, default: 0] += 1
        let trace = await gitlab.traceText(of: job.id)
        #expect(trace.contains("on replica-\(index) (\(manager))"), "job \(job.id):\n\(trace.prefix(400))")
        #expect(
          trace.components(separatedBy: "Running with lava-runner").count == 2, "job \(job.id) ran twice")
      }
      #expect(taken.count == 2, "one replica took every job: \(taken)")
      #expect(await gitlab.violations == [])
    }
  }
}

extension Sequence {
  fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
    var values: [T] = []
    for element in self { values.append(try await transform(element)) }
    return values
  }
}
