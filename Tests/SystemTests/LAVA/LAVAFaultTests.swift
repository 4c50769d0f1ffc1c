import ArgumentParser
import Commands
import Foundation
import Logging
import Protocols
import TestSupport
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import RunnerCore

/// `submit` as shipped, with the polling of these tests: the command's logic is the same,
/// only its pauses shrink so that twenty jobs and an outage fit in about a minute.
struct FaultTestSubmitCommand: Command {
  static let metadata = CommandMetadata(
    name: "submit", summary: "submit with the polling of the LAVA fault tests.",
    examples: [CommandExample("submit lava-job.yaml", "Submits and follows.")])
  @Argument var file: String

  func run(in context: any JobContext) async throws {
    try await SubmitCommand(file: file, polling: LAVAFaultTests.polling).run(in: context)
  }
}

/// The runner against the real LAVA test server through `LAVAFaultProxy`: GitLab jobs that
/// submit played LAVA jobs (the test writes their log lines and ends them), while the proxy
/// spoils a seeded share of LAVA's replies and, mid-job, refuses every connection for a while
/// as a stopped LAVA web server would.
@Suite(.serialized, .enabled(if: LAVATestServer.isConfigured))
struct LAVAFaultTests {
  static let runnerToken = "glrt-lava-faults-runner-token-01"
  static let polling = LAVAPolling(
    active: .milliseconds(100), quietMax: .milliseconds(500),
    retry: RetryPolicy(initial: .milliseconds(100), maximum: .milliseconds(500)),
    outageNotice: .seconds(2), cleanupTimeout: .seconds(5))
  /// Every LAVA request's bound, so that a reply held by the proxy costs 2 s, not a minute.
  static let callTimeout = Duration.seconds(2)
  static let outage = Duration.seconds(6)
  static let gitlabJobs = 20
  /// The 3rd and 11th submissions are answered 502 without reaching LAVA: the runner cannot
  /// know that, so it must not resend them and must fail those jobs as the runner's fault.
  static let lostSubmissions: [Int: LAVAFaultProxy.Fault] = [3: .status(502), 11: .status(502)]
  /// Besides the random draws, each kind of fault at least once: 429 and 408 on submissions
  /// (resent: LAVA did not take them), the others on GETs spread over the run.
  static let scriptedSubmissions = lostSubmissions.merging([1: .status(429), 6: .status(408)]) { $1 }
  static let everyKind: [LAVAFaultProxy.Fault] = [
    .status(500), .status(502), .status(503), .status(504), .reset, .resetAfterForwarding, .truncatedBody,
    .delayed,
  ]
  static let scriptedRequests = Dictionary(
    uniqueKeysWithValues: everyKind.enumerated().map { (20 + 25 * $0.offset, $0.element) })
  /// The played LAVA job during which the proxy refuses connections.
  static let outageDuringJob = 5

  let server: LAVATestServer

  init() throws {
    server = try LAVATestServer.fromEnvironment()
  }

  enum Outcome: CaseIterable {
    case pass, failedTest, infrastructure
  }

  /// What the test played for one LAVA job.
  struct Played: Sendable {
    var index: Int
    var lines: [String]
    var outcome: Outcome
    /// The `fault-line` markers of `lines`, in order.
    var markers: [String]
  }

  /// The lines and outcome of the `index`th LAVA job played: a few hundred lines of mixed
  /// levels, some with non-ASCII text (cut in two by truncated bodies), and results.
  static func plan(index: Int, id: Int64) -> Played {
    var random = SplitMix64(seed: 0xFA17 &+ UInt64(index))
    let outcome = Outcome.allCases[index % 3 == 0 ? 0 : Int(random.next() % 3)]
    let count = 200 + Int(random.next() % 150)
    var lines: [String] = []
    var markers: [String] = []
    let levels = ["target", "target", "info", "debug", "input"]
    for n in 0..<count {
      let marker = "fault-line \(id).\(n) \(String(random.next() % 0xFFFF_FFFF, radix: 16))"
      markers.append(marker)
      let tail = n % 7 == 0 ? " é✓ — ünïcödé" : " " + String(repeating: "x", count: Int(random.next() % 120))
      lines.append(PlayedWorker.logLine(marker + tail, level: levels[Int(random.next() % 5)]))
      if n == count / 2 {
        lines.append(PlayedWorker.resultLine(suite: "smoke", case: "boot", result: "pass"))
      }
    }
    switch outcome {
    case .pass:
      lines.append(PlayedWorker.resultLine(suite: "smoke", case: "network", result: "pass"))
    case .failedTest:
      lines.append(PlayedWorker.resultLine(suite: "smoke", case: "network", result: "fail"))
    case .infrastructure:
      lines.append(
        PlayedWorker.resultLine(
          suite: "lava", case: "job", result: "fail",
          extra: ["error_type": "Infrastructure", "error_msg": "the board did not power on"]))
    }
    return Played(index: index, lines: lines, outcome: outcome, markers: markers)
  }

  @Test func twentyJobsThroughFaultsAndAnOutageGetEveryLineOnceInOrderAndTheRightState() async throws {
    let clock = ContinuousClock()
    let started = clock.now
    var configuration = HTTPClientConfiguration()
    configuration.proxy = .direct
    let http = try HTTPClient(configuration: configuration)
    defer { http.requestShutdown() }
    let proxy = try LAVAFaultProxy(
      upstreamPort: UInt16(server.url.port!),
      plan: .init(
        seed: 0x1A7A_FA17, scriptedSubmissions: Self.scriptedSubmissions,
        scriptedRequests: Self.scriptedRequests))
    defer { proxy.stop() }
    let worker = server.playedWorker()
    let played = PlayedJobs()
    try await worker.whileOnline {
      try await freePlayedDevices(worker: worker, http: http)
      try await FakeGitLab.withRunning(
        configuration: .init(longPollTimeout: .milliseconds(500), traceUpdateInterval: 1)
      ) { gitlab in
        await gitlab.addRunnerToken(Self.runnerToken)
        var jobs: [EnqueuedJob] = []
        for index in 0..<Self.gitlabJobs {
          jobs.append(await gitlab.enqueue(faultJob(index, lavaURL: proxy.url)))
        }
        let runner = try await runner(gitlab: gitlab, http: http)
        let stop = RunnerStop()
        async let loop: Void = runner.run(until: stop)
        do {
          try await play(
            Self.gitlabJobs - Self.lostSubmissions.count, worker: worker, proxy: proxy, into: played)
          for job in jobs { _ = try await gitlab.result(of: job.id, timeout: .seconds(60)) }
        } catch {
          // Say what stalled, which jobs never ended (with the end of their log) and how the
          // jobs that failed ended: the reason the play stalled is among them.
          Issue.record("the play stalled: \(error); LAVA jobs played: \(await played.all.keys.sorted())")
          for job in jobs {
            guard let result = await gitlab.finalResult(of: job.id) else {
              let trace = Self.plain(await gitlab.traceText(of: job.id))
              Issue.record("GitLab job \(job.id) has not ended: \(trace.suffix(1500))")
              continue
            }
            guard result.status != .success else { continue }
            let trace = Self.plain(await gitlab.traceText(of: job.id))
            Issue.record(
              "GitLab job \(job.id) ended \(result.status) \(result.failureReason ?? ""): \(trace.suffix(300))"
            )
          }
          stop.abort()
          try? await loop
          throw error
        }
        stop.abort()
        try await loop
        try await check(jobs, in: gitlab, played: await played.all, http: http)
      }
    }
    let injected = proxy.injected
    for fault in Self.everyKind + [.status(429), .status(408)] {
      #expect(injected[fault, default: 0] > 0, "the proxy never injected \(fault): \(injected)")
    }
    let elapsed = clock.now - started
    print(
      "LAVA faults: \(Self.gitlabJobs) jobs in \(elapsed), \(proxy.forwarded) requests forwarded, injected \(injected)"
    )
  }

  /// `trace` without the sections that repeat lines shown above: a failed part's open block
  /// (`lava_<job>_<n>_failed…`) and the "why it failed" block (`lava_why_<job>`).
  static func withoutFailureBlocks(_ trace: String) -> String {
    var text = trace
    while let start = text.firstMatch(
      of: #/section_start:\d+:(lava_why_\d+|lava_\d+_\d+_failed[a-z0-9_.-]*)/#)
    {
      let id = String(start.output.1)
      guard let endMarker = try? Regex("section_end:[0-9]+:" + id),
        let end = text[start.range.upperBound...].firstMatch(of: endMarker)?.range
      else { break }
      text.removeSubrange(start.range.lowerBound..<end.upperBound)
    }
    return text
  }

  func faultJob(_ index: Int, lavaURL: URL) -> FakeJob {
    FakeJob(name: "fault-\(index)", script: ["submit lava-job.yaml"])
      .variable(.init("LAVA_URL", lavaURL.absoluteString))
      .variable(.init("LAVA_TOKEN", server.token, masked: true))
      .variable(.init("LAVA_OUTAGE_TIMEOUT", "60s"))
      // One attempt each: the played infrastructure failures must fail their GitLab jobs here;
      // retries are LAVARetrySystemTests'.
      .variable(.init("LAVA_RETRIES", "0"))
      // Every level in the job log, debug included, so that every line can be counted there.
      .variable(.init("LAVA_LOG_LEVELS", "all"))
      .dependency(
        .init(
          id: 300 + Int64(index), name: "prepare",
          archive: .files(["lava-job.yaml": server.playedJobDefinition(name: "fault-\(index)")]))
      )
      .artifact(.init(paths: ["*_log.yaml"], when: "always"))
      .artifact(.junit(paths: ["*_junit.xml"]))
  }

  /// The runner in this process, as `run` wires it, with short LAVA timeouts.
  func runner(gitlab: FakeGitLab, http: HTTPClient) async throws -> JobPoller {
    var limits = LAVARequestLimits(callTimeout: Self.callTimeout)
    limits.downloadIdleTimeout = Self.callTimeout
    // The watcher's pauses shrink with the commands' (`polling`): with the runner's own (a
    // failed round asked again after 1, 2, 4… s) a loaded machine saw the 6 s outage as one
    // failure per waiting job, never said twice, and its end 12 s after it ended.
    let lava = LAVAConnections(
      http: http, metrics: RunnerMetrics(), maxConcurrentRequests: 8, limits: limits,
      outagePatience: .seconds(60),
      watcherTiming: LAVAWatcher.Timing(
        active: Self.polling.active, quietMax: Self.polling.quietMax, retry: Self.polling.retry))
    let masker = SecretMasker(secrets: [Self.runnerToken])
    let client = GitLabClient(
      instance: await gitlab.url, http: http,
      identity: RunnerIdentity(name: "faults", systemID: "s_0123456789ab"), runnerToken: Self.runnerToken,
      mask: { masker.mask($0) })
    var settings = JobRunner.Settings()
    settings.traceInterval = .milliseconds(300)
    settings.keepAliveInterval = .seconds(1)
    settings.finalUpdatePatience = .seconds(30)
    var logger = Logger(label: "lava-faults")
    logger.logLevel = .critical
    let backoff = RetryPolicy(initial: .milliseconds(20), maximum: .milliseconds(200))
    return JobPoller(
      client: client,
      runner: JobRunner(
        client: client,
        executor: JobExecutor(
          interpreter: ScriptInterpreter(registry: try CommandRegistry([FaultTestSubmitCommand.self]))),
        settings: settings, lava: lava, logger: logger),
      concurrent: 5, checkInterval: .milliseconds(100), backoff: backoff, logger: logger)
  }

  /// Plays `count` LAVA jobs as LAVA schedules them on the played devices (two at a time), and
  /// "stops" LAVA's web server half-way through the log of one of them.
  func play(_ count: Int, worker: PlayedWorker, proxy: LAVAFaultProxy, into played: PlayedJobs) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(90)
    try await withThrowingTaskGroup(of: Void.self) { group in
      var claimed = Set<Int64>()
      while claimed.count < count {
        guard clock.now < deadline else {
          throw PlayedWorkerError.timedOut("only \(claimed.count) of \(count) LAVA jobs were scheduled")
        }
        let fresh = try await worker.ping().start.filter { !claimed.contains($0.id) }
        for job in fresh where claimed.count < count {
          let index = claimed.count
          claimed.insert(job.id)
          group.addTask {
            let plan = Self.plan(index: index, id: job.id)
            await played.add(job.id, plan)
            try await worker.run(job.id)
            var random = SplitMix64(seed: UInt64(index))
            var sent = 0
            var chunk = 0
            while sent < plan.lines.count {
              let size = min(plan.lines.count - sent, 10 + Int(random.next() % 50))
              try await worker.sendLog(job.id, Array(plan.lines[sent..<sent + size]))
              sent += size
              chunk += 1
              if index == Self.outageDuringJob, chunk == 3 { proxy.refuseConnections(for: Self.outage) }
              try await Task.sleep(for: .milliseconds(20 + Int(random.next() % 100)))
            }
            switch plan.outcome {
            case .pass, .failedTest:
              try await worker.finish(job.id, result: .pass)
            case .infrastructure:
              try await worker.finish(
                job.id, result: .fail, errorType: "Infrastructure", errors: "the board did not power on")
            }
          }
        }
        if fresh.isEmpty { try await Task.sleep(for: .milliseconds(300)) }
      }
      try await group.waitForAll()
    }
  }

  func check(_ jobs: [EnqueuedJob], in gitlab: FakeGitLab, played: [Int64: Played], http: HTTPClient)
    async throws
  {
    let direct = try LAVAConnections(http: http, metrics: RunnerMetrics()).client(
      url: server.url, token: server.token)
    var lostSubmissions = 0
    var lostWhy: [String] = []
    var notices: [String: Int] = [:]
    var reachableAgain = 0
    for job in jobs {
      let result = try await gitlab.result(of: job.id, timeout: .seconds(1))
      let trace = Self.plain(await gitlab.traceText(of: job.id))
      #expect(!trace.contains(server.token), "job \(job.id) shows LAVA_TOKEN")
      for match in trace.matches(
        of:
          #/LAVA unreachable since (\d\d:\d\d:\d\d UTC) \([^)]*\), asking again for (.*?): [^\n]*Could not connect/#
      ) {
        notices["\(job.id) \(match.output.1) \(match.output.2)", default: 0] += 1
      }
      reachableAgain += trace.matches(of: #/LAVA reachable again after/#).count
      guard let match = trace.firstMatch(of: #/scheduler/job/(\d+)/#), let id = Int64(match.output.1) else {
        // A submission answered 502 may have reached LAVA: not resent, the runner's failure.
        lostSubmissions += 1
        lostWhy.append(
          "job \(job.id): "
            + (trace.split(separator: "\n").first { $0.contains("not retried so as not to start") } ?? "?"))
        #expect(result.status == .failed && result.failureReason == "runner_system_failure", "\(trace)")
        #expect(trace.contains("It was not retried so as not to start the job twice"), "\(trace)")
        continue
      }
      guard let plan = played[id] else {
        Issue.record("GitLab job \(job.id) followed LAVA job \(id), which the test never played")
        continue
      }
      switch plan.outcome {
      case .pass:
        #expect(result.status == .success, "LAVA job \(id): \(trace.suffix(3000))")
      case .failedTest:
        #expect(result.status == .failed && result.failureReason == "script_failure", "\(trace.suffix(3000))")
        #expect(trace.contains("smoke/network: fail"))
      case .infrastructure:
        #expect(
          result.status == .failed && result.failureReason == "runner_system_failure", "\(trace.suffix(3000))"
        )
        #expect(trace.contains("because of a LAVA Infrastructure error"))
      }
      // Every line exactly once, in order, and no other job's; the open blocks that repeat a
      // failure's last lines ("failed" sections, "why it failed") are left out of the count.
      let shown = Self.withoutFailureBlocks(trace).matches(of: #/fault-line \d+\.\d+ [0-9a-f]+/#).map {
        String($0.output)
      }
      #expect(
        shown.count == plan.markers.count, "LAVA job \(id): \(shown.count) of \(plan.markers.count) lines")
      if shown != plan.markers {
        let first =
          Array(zip(shown, plan.markers)).firstIndex { $0.0 != $0.1 } ?? min(shown.count, plan.markers.count)
        let got = Array(shown.dropFirst(first).prefix(3))
        let wanted = Array(plan.markers.dropFirst(first).prefix(3))
        Issue.record(
          "LAVA job \(id): the job log's lines differ from line \(first): \(got) instead of \(wanted)")
      }
      // The raw log artifact is LAVA's log, byte for byte; the JUnit report is LAVA's.
      let uploads = await gitlab.uploads(of: job.id)
      let archive = try #require(uploads.first { $0.artifactType == "archive" }, "job \(job.id)")
      let log = try #require(try archive.zipEntries()["\(id)_log.yaml"], "job \(job.id)")
      #expect(
        String(decoding: log, as: UTF8.self) == plan.lines.joined(separator: "\n") + "\n", "LAVA job \(id)")
      let junit = try #require(uploads.first { $0.artifactType == "junit" }, "job \(job.id)")
      let file = FileManager.default.temporaryDirectory.appendingPathComponent("faults-junit-\(UUID()).xml")
      defer { try? FileManager.default.removeItem(at: file) }
      try await direct.downloadJUnit(of: id, to: file)
      #expect(try junit.gunzipped() == Data(contentsOf: file), "LAVA job \(id)'s JUnit report")
    }
    #expect(lostSubmissions == Self.lostSubmissions.count, "\(lostWhy)")
    #expect(played.count == Self.gitlabJobs - Self.lostSubmissions.count)
    // The outage (connections refused): waited out, said more than once while it lasted, and
    // its end said.
    #expect(notices.values.contains { $0 >= 2 }, "no refused connection was reported twice: \(notices)")
    #expect(reachableAgain > 0)
    #expect(await gitlab.violations == [])
  }

  /// The job log without colours or section markers.
  static func plain(_ text: String) -> String {
    text.replacing(#/\x1B\[[0-9;]*[A-Za-z]/#, with: "")
  }
}

/// What the player played, by LAVA job id.
actor PlayedJobs {
  private(set) var all: [Int64: LAVAFaultTests.Played] = [:]

  func add(_ id: Int64, _ played: LAVAFaultTests.Played) { all[id] = played }
}
