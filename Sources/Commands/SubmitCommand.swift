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

      A running LAVA job that writes no log line for LAVA_HANG_TIMEOUT is canceled and counts \
      as a LAVA failure; one still queued after LAVA_QUEUE_TIMEOUT is canceled and fails the \
      job, naming its device type, the devices online and the jobs ahead. An attempt that fails \
      because of LAVA (error type Infrastructure, Bug or Configuration, a hang, a submission \
      that never reached LAVA) is submitted again, up to LAVA_RETRIES more times, while the \
      GitLab job's time left can hold another (estimated from the definition's job timeout, \
      else the last attempt's duration); failed tests and definition errors never are. Each \
      attempt has its own section and artifacts, the summary table lists them all, and the \
      last decides. A warning says when the definition's job timeout is longer than the \
      GitLab job's time left.

      The log of a single LAVA job is laid out as LAVA runs it: one collapsed section per \
      top-level LAVA action (its header is LAVA's `start:` line with the action's timeout, its \
      last line LAVA's `end:` line with the duration, and GitLab's duration on the header is \
      LAVA's own), and inside them one per test definition run, test set and test case. A \
      section is collapsed when it starts, before anyone knows how it ends; when a test case or \
      an action fails, an open section right after it repeats its last 30 lines. Every section \
      is closed however the log ends (cancelled, timed out, cut short). GitLab section markers \
      the device prints are rejoined when LAVA split them, and shown, not acted on (LAVA_DEVICE_SECTIONS=true lets them fold the log). \
      A multinode definition's jobs share the job log without these sections. Kernel \
      messages have their timestamp dimmed; a lone carriage return does not split a line (it is \
      shown as ␍), and control characters and escape sequences other than colours are shown \
      (␀, ␛[2J) instead of being passed on. Past LAVA_LOG_LIMIT only warnings, errors, results \
      and sections reach the job log; a target line repeated in a row is shown three times, \
      then counted.
      """,
    variables: [
      .lavaURL, .lavaToken(of: "the submitting user"), .lavaCancellation(default: .cancel),
      .lavaIgnoreTestFailures, .lavaOutageTimeout, .lavaLogLevels, .lavaLogLimit, .lavaHangTimeout,
      .lavaQueueTimeout, .lavaRetries, .lavaKnownIssues, .lavaDeviceSections,
    ],
    examples: [
      CommandExample(
        "submit lava-job.yaml", "Submit lava-job.yaml from a dependency's artifacts.",
        files: ["lava-job.yaml": exampleDefinition]),
      CommandExample(
        "submit 'boards/rock 5b.yaml'", "A path with a space, quoted.",
        files: ["boards/rock 5b.yaml": exampleDefinition]),
    ],
    resumable: true
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
    // After a runner restart: go on from the last phase saved (SubmitCommand+Resume.swift).
    let saved = try await context.restoredCheckpoint(SubmitCheckpoint.self, command: "submit")
    // Checked before anything is submitted: a mistake in it is the job's, named by line:column.
    let knownIssues = try await LAVAKnownIssues.load(session, quietly: saved != nil)
    let definition: String
    if let saved {
      // A job GitLab cancelled while no runner ran is resumed cancelled: reading the definition
      // again may then fail, and the LAVA jobs already submitted are still handled per
      // LAVA_CANCELLATION.
      definition = try await session.cancellingLAVAJobs(saved.ids) { try await prepare(session, quiet: true) }
    } else {
      definition = try await context.log.section(
        "lava_submit_\(Int(Date().timeIntervalSince1970 * 1000))",
        header: "Submitting \(file) to \(session.settings.url.absoluteString)"
      ) {
        try await prepare(session, quiet: false)
      }
    }
    var attempts = LAVASubmitAttempts(command: self, session: session, definition: definition, resume: saved)
    attempts.watcher = knownIssues.map(LAVAKnownIssueLineWatcher.init)
    try await attempts.conclude(try await attempts.run())
  }

  /// The largest definition read, as the runner's YAML reader allows (`YAMLLimits`).
  static let maximumDefinitionBytes = 16 * 1_048_576

  /// The definition as it will be sent, but for the mark each submission puts in its
  /// `job_name` (``LAVAJobMarker``): read, templated, checked. `quiet` on a resume: the previous
  /// runner said it all.
  func prepare(_ session: LAVACommandSession, quiet: Bool) async throws -> String {
    let context = session.context
    let data = try await session.dependency(
      file, limit: Self.maximumDefinitionBytes,
      tooLarge:
        "16 MiB, the most a job definition may be; LAVA job definitions are a few KiB: check the path",
      quietly: quiet)
    let rendered = try DefinitionTemplate(name: file, data: data).render(with: context.variables)
    if context.keepsCheckpoints, !quiet {
      if LAVAJobMarker.insert(LAVAJobMarker.make(), into: rendered) == nil {
        await context.log.warning(
          "\(file): its job_name cannot carry the mark lava-runner finds a submission by; if the runner "
            + "restarts while submitting it, the job fails instead of risking a second LAVA job")
      }
    }
    let problems = await context.lava.problems(inDefinition: rendered, name: file)
    guard problems.isEmpty else {
      throw CommandFailure(
        .scriptFailure,
        context.mask(
          "submit: \(file) is not a valid LAVA job definition:\n"
            + problems.map { "  " + $0 }.joined(separator: "\n")))
    }
    let lineCount = rendered.split(separator: "\n", omittingEmptySubsequences: false).count
    if !quiet { await context.log.line("\(file): \(lineCount) lines, variables filled in, checked") }
    return rendered
  }

  /// Every LAVA job of the submission followed at once; a report for each, in `ids` order, and
  /// when the first was seen running. `saved`: where a runner that died left them.
  func follow(
    _ ids: [Int64], _ session: LAVACommandSession, attempt: LAVAAttempt, watcher: (any LAVALineWatcher)?,
    resuming saved: SubmitCheckpoint, progress: SubmitProgress
  ) async throws -> (reports: [LAVAJobReport], started: Date?) {
    let context = session.context
    let volume = LAVALogVolume(limit: session.settings.logLimit, artifacts: ids.map(LAVAArtifactNames.log))
    if let restored = saved.volume { volume.restore(restored) }
    let resumed = saved.phase == .following
    let label = attempt.planned > 1 ? "\(attempt.number) of \(attempt.planned)" : nil
    let header =
      (ids.count == 1
        ? "LAVA job \(ids[0]) log" : "LAVA jobs " + ids.map(String.init).joined(separator: ", ") + " logs")
      + (label.map { ", attempt \($0)" } ?? "")
    let section = ResumableSection("lava_log_\(ids[0])", header: header)
    let outcomes = try await section.run(context.log, started: resumed) {
      if !resumed { try await progress.following() }
      if ids.count == 1 {
        // One LAVA job (the usual case) is followed in this task: no child task to keep for as
        // long as the LAVA job waits in the queue (issue 10: memory per waiting job).
        let (follower, file) = try await follower(
          ids[0], of: ids, session, volume: volume, watcher: watcher, resuming: saved, progress: progress)
        defer { file.close() }
        return [ids[0]: try await follower.follow()]
      }
      return try await withThrowingTaskGroup(of: (Int64, LAVALogFollower.Outcome).self) { group in
        for id in ids {
          let (follower, file) = try await follower(
            id, of: ids, session, volume: volume, watcher: watcher, resuming: saved, progress: progress)
          group.addTask {
            defer { file.close() }
            return (id, try await follower.follow())
          }
        }
        var outcomes: [Int64: LAVALogFollower.Outcome] = [:]
        var stopped: Int64?
        for try await (id, outcome) in group {
          outcomes[id] = LAVAGroupStop.canceled(
            outcome, by: stopped.flatMap { first in outcomes[first].map { (first, $0) } })
          // A multinode job stopped by the runner: the others cannot go on without it.
          if outcome.stop != nil, stopped == nil, ids.count > 1 {
            stopped = id
            await LAVAGroupStop.cancel(ids.filter { $0 != id }, after: id, session: session)
          }
        }
        return outcomes
      }
    }
    return try await reports(ids, outcomes, session, label: label, progress: progress)
  }
}
