import Foundation
import Protocols

/// What every LAVA command does around its own work, written once: the settings read from the
/// job's variables, LAVA_TOKEN masked, the server and the retrier, the dependency file read,
/// the LAVA jobs cleaned up when the GitLab job is cancelled, the summary table and the
/// verdict. Every message starts with the command's own name, from its metadata.
struct LAVACommandSession: Sendable {
  /// The command's name, e.g. `submit`, for messages.
  let name: String
  let context: any JobContext
  let settings: LAVASettings
  let polling: LAVAPolling
  let server: any LAVAServer
  let retrier: LAVARetrier
  /// The process's watcher of the server's jobs, when the runner has one.
  var watcher: (any LAVAJobWatcher)?

  /// Reads and checks the settings, then masks LAVA_TOKEN everywhere (job log, artifacts,
  /// messages) before anything that could echo it runs; nothing is written with LAVA_URL before
  /// it is checked.
  static func open(
    _ command: any Command.Type, context: any JobContext, polling: LAVAPolling,
    defaultCancellation: LAVACancellationPolicy
  ) async throws -> LAVACommandSession {
    let name = command.metadata.name
    let settings = try LAVASettings(
      variables: context.variables, defaultCancellation: defaultCancellation, command: name,
      mask: context.mask)
    await context.addMask(settings.token)
    let server: any LAVAServer
    do {
      server = try context.lava.server(url: settings.url, token: settings.token)
    } catch {
      throw CommandFailure(reason(of: error), "\(name): cannot use the LAVA server: \(context.mask(error))")
    }
    let retrier = LAVARetrier(
      polling: polling, patience: settings.outageTimeout ?? context.lava.outagePatience, context: context)
    var session = LAVACommandSession(
      name: name, context: context, settings: settings, polling: polling, server: server, retrier: retrier)
    session.watcher = try? context.lava.watcher(url: settings.url, token: settings.token)
    return session
  }

  /// The failure reason an error carries, or a runner system failure for one that says nothing.
  static func reason(of error: any Error) -> FailureReason {
    (error as? any JobFailure)?.failureReason ?? .runnerSystemFailure
  }

  /// `error` as a failure of this command: `<name>: <what>: <error, masked>`.
  func failure(_ what: String, _ error: any Error) -> CommandFailure {
    CommandFailure(
      Self.reason(of: error), "\(name): \(what)\(what.isEmpty ? "" : ": ")\(context.mask(error))")
  }

  /// `file` from the dependencies' artifacts, at most `limit` bytes (one more is read, so that a
  /// huge file is refused without being read whole). `quietly` for a command resumed after a
  /// runner restart: the previous runner said where it found the file.
  func dependency(_ file: String, limit: Int, tooLarge: String, quietly: Bool = false) async throws -> Data {
    let url: URL
    do {
      url = try await context.dependencyFile(at: file, quietly: quietly)
    } catch {
      throw failure("", error)
    }
    let data: Data
    do {
      let handle = try FileHandle(forReadingFrom: url)
      defer { try? handle.close() }
      data = try handle.read(upToCount: limit + 1) ?? Data()
    } catch {
      throw CommandFailure(
        .runnerSystemFailure, "\(name): cannot read \(file): \(error.localizedDescription)")
    }
    guard data.count <= limit else {
      throw CommandFailure(.scriptFailure, "\(name): \(file) is larger than \(tooLarge)")
    }
    return data
  }

  /// Runs `body`; when the GitLab job is cancelled meanwhile, the LAVA jobs `ids` are handled
  /// per LAVA_CANCELLATION before the cancellation goes on.
  func cancellingLAVAJobs<T: Sendable>(_ ids: [Int64], _ body: () async throws -> T) async throws -> T {
    do {
      return try await body()
    } catch {
      if Task.isCancelled {
        let cleanup = LAVACleanup(
          server: server, policy: settings.cancellation, polling: polling, context: context)
        await cleanup.run(ids: ids, cancellation: await context.cancellation)
      }
      throw error
    }
  }

  /// The summary table, then the verdict: returns when every LAVA job passed, throws the
  /// truthful failure otherwise.
  /// `shown`: the rows of the table when they are more than `reports` (earlier attempts);
  /// `history`: what the attempts were, added to the failure's message.
  func conclude(
    _ reports: [LAVAJobReport], ids: [Int64], shown: [LAVAJobReport]? = nil, history: String = ""
  ) async throws {
    let log = context.log
    await showTable(shown ?? reports)
    if let failure = LAVAVerdict.failure(
      of: reports, ignoreTestFailures: settings.ignoreTestFailures, command: name)
    {
      await LAVAVerdict.explain(
        reports, ignoreTestFailures: settings.ignoreTestFailures, log: log, mask: context.mask)
      throw CommandFailure(failure.failureReason, context.mask(failure.message + history))
    }
  }

  /// The summary table, in a section of its own.
  func showTable(_ reports: [LAVAJobReport]) async {
    let log = context.log
    await log.section("lava_summary_\(reports.first?.id ?? 0)", header: "LAVA jobs") {
      await log.line(LAVAVerdict.summaryTable(reports, ignoreTestFailures: settings.ignoreTestFailures))
    }
  }

  /// The JUnit report and failed test cases of each LAVA job, with the job's outcome.
  func report(
    _ id: Int64, job: LAVAJob, error: LAVAJobError, stop: LAVAFollowStop? = nil, attempt: String? = nil
  ) async -> LAVAJobReport {
    await server.saveJUnit(of: id, context: context, retrier: retrier)
    let (cases, unavailable) = await server.testResults(of: id, retrier: retrier)
    return LAVAJobReport(
      job: job, url: server.webURL(of: id), error: error, failedTests: cases.filter { $0.result == "fail" },
      testCasesUnavailable: unavailable, stop: stop, attempt: attempt, testCases: cases)
  }
}
