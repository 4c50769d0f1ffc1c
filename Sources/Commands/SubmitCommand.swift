import ArgumentParser
import Foundation
import Protocols

/// `submit FILE`: submits a LAVA job definition found in the dependencies' artifacts and
/// follows the LAVA job until it finishes.
public struct SubmitCommand: Command {
  public static let metadata = CommandMetadata(
    name: "submit",
    summary: "Submit a LAVA job definition and follow the LAVA job until it ends.",
    discussion: """
      FILE is looked up in the artifacts of the job's dependencies. Its text is templated \
      with the job's CI/CD variables ({{ job.NAME }}, inserted verbatim; an unknown name is an \
      error), checked with libyaml and LAVA's structure rules, and submitted. Every LAVA job's \
      URL is printed and its log streamed into the job log (a multinode definition's jobs side \
      by side, each line tagged with its job id). The raw log is saved as <id>_log.yaml and the \
      results as <id>_junit.xml, both offered to the job's artifacts. The job succeeds only if \
      every LAVA job finishes Complete without a failed test; LAVA infrastructure errors end it \
      as a runner system failure, failed tests and bad definitions as a script failure. When a LAVA job fails, an \
      open section at the end says why: health, LAVA's error type and message, the failure \
      comment, the action it failed in, the failed test cases and the device's last 30 lines.

      The log of a single LAVA job is laid out as LAVA runs it: one collapsed section per \
      top-level LAVA action (its header is LAVA's `start:` line with the action's timeout, its \
      last line LAVA's `end:` line with the duration, and GitLab's duration on the header is \
      LAVA's own), and inside them one per test definition run, test set and test case. A \
      section is collapsed when it starts, before anyone knows how it ends; when a test case or \
      an action fails, an open section right after it repeats its last 30 lines. Every section \
      is closed however the log ends (cancelled, timed out, cut short). GitLab section markers \
      the device prints are rejoined when LAVA split them, and shown, not acted on. \
      A multinode definition's jobs share the job log without these sections. Kernel \
      messages have their timestamp dimmed; a lone carriage return does not split a line (it is \
      shown as ␍), and control characters and escape sequences other than colours are shown \
      (␀, ␛[2J) instead of being passed on. Past LAVA_LOG_LIMIT only warnings, errors, results \
      and sections reach the job log; a target line repeated in a row is shown three times, \
      then counted.

      lava-report.json (every LAVA job with its device, health, error, times, action durations \
      and test results; docs/lava-report.md) and lava.env (LAVA_JOB_ID, LAVA_JOB_IDS, \
      LAVA_JOB_URL, LAVA_DEVICE, LAVA_DEVICE_TYPE, LAVA_HEALTH, for `reports: dotenv`) are \
      offered to the artifacts too. LAVA_KNOWN_ISSUES names a YAML file of log patterns with an \
      action each: retry (cancel, an infrastructure failure), fail (cancel, fail with its \
      message) or note (print its message); it is checked before anything is submitted.
      """,
    variables: [
      .lavaURL, .lavaToken(of: "the submitting user"), .lavaCancellation(default: .cancel),
      .lavaIgnoreTestFailures, .lavaOutageTimeout, .lavaLogLevels, .lavaLogLimit, .lavaKnownIssues,
    ],
    examples: [
      CommandExample(
        "submit lava-job.yaml", "Submit lava-job.yaml from a dependency's artifacts.",
        files: ["lava-job.yaml": exampleDefinition]),
      CommandExample(
        "submit 'boards/rock 5b.yaml'", "A path with a space, quoted.",
        files: ["boards/rock 5b.yaml": exampleDefinition]),
    ]
  )

  /// The definition the examples submit: a QEMU boot, templated with the pipeline's id.
  static let exampleDefinition = """
    job_name: "smoke test, pipeline {{ job.CI_PIPELINE_ID }}"
    device_type: qemu
    visibility: public
    priority: medium
    timeouts: {job: {minutes: 30}, action: {minutes: 10}}
    actions:
    - deploy:
        to: tmpfs
        timeout: {minutes: 5}
        images:
          rootfs: {url: "https://images.example.org/debian/rootfs.ext4", image_arg: "-drive format=raw,file={rootfs}"}
    - boot: {method: qemu, media: tmpfs, timeout: {minutes: 5}, prompts: ["root@debian:~#"]}
    """

  @Argument(help: "Path of the LAVA job definition inside the dependencies' artifacts.")
  public var file: String

  /// Poll intervals and retries; tests make them short.
  public var polling = LAVAPolling.standard

  enum CodingKeys: String, CodingKey {
    case file
  }

  public init() {}

  public init(file: String, polling: LAVAPolling = .standard) {
    self.file = file
    self.polling = polling
  }

  public func run(in context: any JobContext) async throws {
    let session = try await LAVACommandSession.open(
      Self.self, context: context, polling: polling, defaultCancellation: .cancel)
    let knownIssues = try await LAVAKnownIssues.load(session)
    let definition = try await context.log.section(
      "lava_submit_\(Int(Date().timeIntervalSince1970 * 1000))",
      header: "Submitting \(file) to \(session.settings.url.absoluteString)"
    ) {
      try await prepare(session)
    }
    let ids: [Int64]
    do {
      // Retried only while LAVA cannot have received it (refused, 408, 429): see LAVAServer.submit.
      ids = try await session.retrier.run("the submission of \(file)") {
        try await session.server.submit(definition: definition)
      }
    } catch {
      if Task.isCancelled { throw error }
      throw session.failure("LAVA did not accept \(file)", error)
    }
    guard !ids.isEmpty else {
      throw CommandFailure(.runnerSystemFailure, "submit: LAVA accepted \(file) but returned no job id")
    }
    for id in ids {
      await context.log.info("LAVA job \(id): \(session.server.webURL(of: id).absoluteString)")
    }
    let reports = try await session.cancellingLAVAJobs(ids) { try await follow(ids, session, knownIssues) }
    try await session.conclude(reports, ids: ids, file: file)
  }

  /// The largest definition read, as the runner's YAML reader allows (`YAMLLimits`).
  static let maximumDefinitionBytes = 16 * 1_048_576

  /// The definition as it will be sent: read, templated, checked.
  private func prepare(_ session: LAVACommandSession) async throws -> String {
    let context = session.context
    let data = try await session.dependency(
      file, limit: Self.maximumDefinitionBytes,
      tooLarge: "16 MiB, the most a job definition may be; LAVA job definitions are a few KiB: check the path"
    )
    let rendered = try DefinitionTemplate(name: file, data: data).render(with: context.variables)
    let problems = await context.lava.problems(inDefinition: rendered, name: file)
    guard problems.isEmpty else {
      throw CommandFailure(
        .scriptFailure,
        context.mask(
          "submit: \(file) is not a valid LAVA job definition:\n"
            + problems.map { "  " + $0 }.joined(separator: "\n")))
    }
    let lineCount = rendered.split(separator: "\n", omittingEmptySubsequences: false).count
    await context.log.line("\(file): \(lineCount) lines, variables filled in, checked")
    return rendered
  }

  /// Every LAVA job of the submission followed at once; a report for each, in `ids` order.
  private func follow(
    _ ids: [Int64], _ session: LAVACommandSession, _ knownIssues: LAVAKnownIssues?
  ) async throws -> [LAVAJobReport] {
    let context = session.context
    let volume = LAVALogVolume(limit: session.settings.logLimit, artifacts: ids.map(LAVAArtifactNames.log))
    let header =
      ids.count == 1
      ? "LAVA job \(ids[0]) log" : "LAVA jobs " + ids.map(String.init).joined(separator: ", ") + " logs"
    let outcomes = try await context.log.section("lava_log_\(ids[0])", header: header) {
      try await withThrowingTaskGroup(of: (Int64, LAVALogFollower.Outcome).self) { group in
        for id in ids {
          let file = try LAVALogFile(jobID: id, in: context.workingDirectory, masker: context.makeMasker())
          try await context.offerArtifact(named: LAVAArtifactNames.log(id), file: file.url)
          var follower = LAVALogFollower(
            server: session.server, id: id,
            renderer: LAVALogRenderer(
              prefix: ids.count == 1 ? "" : "[\(id)] ", levels: session.settings.logLevels, volume: volume),
            file: file, log: context.log, polling: polling, retrier: session.retrier, sections: ids.count == 1
          )
          follower.knownIssues = knownIssues.map(LAVAKnownIssueWatcher.init)
          group.addTask { [follower] in
            defer { file.close() }
            return (id, try await follower.follow())
          }
        }
        var outcomes: [Int64: LAVALogFollower.Outcome] = [:]
        for try await (id, outcome) in group { outcomes[id] = outcome }
        return outcomes
      }
    }
    var reports: [LAVAJobReport] = []
    for id in ids {
      guard let outcome = outcomes[id] else { continue }
      reports.append(
        await session.report(id, job: outcome.job, error: outcome.error, knownIssue: outcome.knownIssue))
    }
    return reports
  }
}
