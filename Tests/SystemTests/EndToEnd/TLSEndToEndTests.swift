import Foundation
import TestSupport
import Testing

@testable import HTTP

/// The `lava-runner` binary against servers behind TLS proxies whose certificates come from a
/// private CA generated for the test: the fake GitLab, its object storage and the real LAVA
/// test server.
@Suite struct TLSEndToEndTests {
  let certificates: TestCertificates
  static let runnerToken = "glrt-tls-e2e-runner-token-01234"
  static let lavaToken = "lava-tls-e2e-token-0123456789abcdef"

  init() throws {
    certificates = try TestCertificates.shared()
  }

  /// A certificate the runner must refuse, and what its message must then say.
  enum BadCertificate: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case untrustedCA, expired, mismatchedHost

    var testDescription: String { rawValue }

    func pair(_ certificates: TestCertificates) -> TestCertificates.Pair {
      switch self {
      case .untrustedCA: certificates.foreign
      case .expired: certificates.expired
      case .mismatchedHost: certificates.mismatched
      }
    }

    var reason: String {
      switch self {
      case .untrustedCA: "not signed by a CA this runner trusts"
      case .expired: "the server's certificate has expired"
      case .mismatchedHost: "for another host name"
      }
    }
  }

  func stop(_ process: Process) {
    if process.isRunning {
      process.terminate()
      process.waitUntilExit()
    }
  }

  /// Waits until the runner's log holds `count` lines containing `text`, or `timeout` passes.
  func waitForLog(_ output: URL, containing text: String, count: Int = 1, within timeout: Duration)
    async throws
    -> String
  {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while true {
      let log = try String(contentsOf: output, encoding: .utf8)
      let lines = log.split(separator: "\n").filter { $0.contains(text) }
      if lines.count >= count || clock.now >= deadline { return log }
      try await Task.sleep(for: .milliseconds(200))
    }
  }

  // MARK: GitLab side

  @Test(arguments: BadCertificate.allCases)
  func gitLabWithABadCertificateIsLoggedNamingTheHostAndTheReasonAndRetried(_ bad: BadCertificate)
    async throws
  {
    try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .milliseconds(500))) { gitlab in
      await gitlab.addRunnerToken(Self.runnerToken)
      let job = await gitlab.enqueue(FakeJob(script: ["submit lava-job.yaml"]))
      let proxy = try TLSProxy.start(serving: bad.pair(certificates), to: UInt16(await gitlab.url.port!))
      defer { proxy.stop() }
      let (process, output) = try BuiltRunner.start(
        ["run", "--check-interval", "0.2"],
        environment: [
          "GITLAB_URL": proxy.url().absoluteString, "GITLAB_TOKEN": Self.runnerToken,
          "RUNNER_TLS_CA_FILE": certificates.ca.path,
        ])
      defer { stop(process) }
      let log = try await waitForLog(
        output, containing: "asking GitLab for a job failed", count: 2, within: .seconds(30))
      let failures = log.split(separator: "\n").filter { $0.contains("asking GitLab for a job failed") }
      #expect(failures.count >= 2, "the runner does not keep trying: \(log)")
      for line in failures.prefix(2) {
        #expect(line.contains("127.0.0.1:\(proxy.port)"), "\(line)")
        #expect(line.contains(bad.reason), "\(line)")
      }
      #expect(process.isRunning, "the runner gave up on a server that may be fixed: \(log)")
      #expect(!log.contains(Self.runnerToken))
      #expect(await gitlab.status(of: job.id) == .pending)
      #expect(await gitlab.requests.isEmpty, "a request got through a refused handshake")
    }
  }

  // MARK: LAVA side

  @Test func lavaWithABadCertificateFailsEachJobAsARunnerSystemFailureNamingTheHostAndTheReason() async throws
  {
    try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .milliseconds(500))) { gitlab in
      await gitlab.addRunnerToken(Self.runnerToken)
      // The handshake fails before anything is relayed: what is behind the proxies never matters.
      let upstream = UInt16(await gitlab.url.port!)
      var proxies: [(BadCertificate, TLSProxy, EnqueuedJob)] = []
      defer { for (_, proxy, _) in proxies { proxy.stop() } }
      for bad in BadCertificate.allCases {
        let proxy = try TLSProxy.start(serving: bad.pair(certificates), to: upstream)
        let job = await gitlab.enqueue(
          FakeJob(name: "lava-\(bad.rawValue)", script: ["submit lava-job.yaml"])
            .variable(.init("LAVA_URL", proxy.url().absoluteString + "/"))
            .variable(.init("LAVA_TOKEN", Self.lavaToken, masked: true))
            .dependency(
              .init(
                id: 60 + Int64(proxies.count), name: "prepare",
                archive: .files(["lava-job.yaml": Self.playedDefinition]))))
        proxies.append((bad, proxy, job))
      }
      let (process, output) = try BuiltRunner.start(
        ["run", "--check-interval", "0.2", "--tls-ca-file", certificates.ca.path],
        environment: ["GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": Self.runnerToken])
      defer { stop(process) }
      for (bad, proxy, job) in proxies {
        let result = try await gitlab.result(of: job.id, timeout: .seconds(60))
        let trace = await gitlab.traceText(of: job.id)
        #expect(result.status == .failed, "\(bad): \(trace.suffix(2000))")
        #expect(result.failureReason == "runner_system_failure", "\(bad): \(trace.suffix(2000))")
        #expect(trace.contains("127.0.0.1:\(proxy.port)"), "\(bad): \(trace.suffix(2000))")
        #expect(trace.contains(bad.reason), "\(bad): \(trace.suffix(2000))")
        #expect(!trace.contains("may have reached the server"), "a refused handshake sent nothing: \(trace)")
        #expect(!trace.contains(Self.lavaToken))
      }
      stop(process)
      let log = try String(contentsOf: output, encoding: .utf8)
      #expect(!log.contains(Self.lavaToken))
      #expect(!log.contains(Self.runnerToken))
      #expect(await gitlab.violations == [])
    }
  }

  /// A definition `submit` accepts locally; LAVA never sees it in these tests.
  static let playedDefinition = LAVATestServer.playedJobDefinition(name: "tls")

  // MARK: Client certificates and skipping verification

  /// Runs the binary with `arguments` against the fake GitLab behind a proxy serving `pair`,
  /// with one job that downloads a dependency through GitLab and then stops at `submit` for lack
  /// of LAVA_URL: every GitLab call a job makes, without LAVA.
  func runGitLabJob(
    behind pair: TestCertificates.Pair, requiringClientCertificates: Bool, arguments: [String],
    _ check: (FakeGitLab, EnqueuedJob, TLSProxy, URL) async throws -> Void
  ) async throws {
    try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .milliseconds(500))) { gitlab in
      await gitlab.addRunnerToken(Self.runnerToken)
      let job = await gitlab.enqueue(
        FakeJob(script: ["submit lava-job.yaml"])
          .variable(.init("LAVA_URL", "https://127.0.0.1:1/"))
          .variable(.init("LAVA_TOKEN", Self.lavaToken, masked: true))
          .dependency(.init(id: 70, name: "prepare", archive: .files(["lava-job.yaml": "job_name: tls\n"]))))
      let proxy = try TLSProxy.start(
        serving: pair, to: UInt16(await gitlab.url.port!),
        requiringClientCertificatesFrom: requiringClientCertificates ? certificates.ca : nil)
      defer { proxy.stop() }
      let (process, output) = try BuiltRunner.start(
        ["run", "--check-interval", "0.2"] + arguments,
        environment: [
          "GITLAB_URL": proxy.url(host: "localhost").absoluteString, "GITLAB_TOKEN": Self.runnerToken,
        ])
      defer { stop(process) }
      try await check(gitlab, job, proxy, output)
    }
  }

  @Test func aGitLabRequiringAClientCertificateServesTheRunnerGivenOne() async throws {
    try await runGitLabJob(
      behind: certificates.server, requiringClientCertificates: true,
      arguments: [
        "--tls-ca-file", certificates.ca.path, "--tls-cert-file", certificates.client.certificate.path,
        "--tls-key-file", certificates.client.key.path,
      ]
    ) { gitlab, job, proxy, _ in
      let result = try await gitlab.result(of: job.id, timeout: .seconds(60))
      let trace = await gitlab.traceText(of: job.id)
      #expect(result.failureReason == "script_failure", "\(trace.suffix(2000))")
      #expect(trace.contains("device_type"), "\(trace.suffix(2000))")
      #expect(await gitlab.downloads[70] == 1)
      #expect(proxy.handshakeFailures == [])
    }
  }

  @Test func aGitLabRequiringAClientCertificateRefusesTheRunnerWithoutOneAndTheLogSaysSo() async throws {
    try await runGitLabJob(
      behind: certificates.server, requiringClientCertificates: true,
      arguments: ["--tls-ca-file", certificates.ca.path]
    ) { gitlab, job, proxy, output in
      let log = try await waitForLog(
        output, containing: "asking GitLab for a job failed", within: .seconds(30))
      let line = try #require(
        log.split(separator: "\n").first { $0.contains("asking GitLab for a job failed") }, "\(log)")
      #expect(line.contains("localhost:\(proxy.port)"), "\(line)")
      #expect(line.contains("requires a client certificate"), "\(line)")
      #expect(await gitlab.status(of: job.id) == .pending)
      #expect(!proxy.handshakeFailures.isEmpty)
    }
  }

  @Test func insecureSkipVerifyReachesGitLabWithAnExpiredCertificateAndWarnsAtStartUp() async throws {
    try await runGitLabJob(
      behind: certificates.expired, requiringClientCertificates: false,
      arguments: ["--tls-insecure-skip-verify"]
    ) { gitlab, job, _, output in
      let result = try await gitlab.result(of: job.id, timeout: .seconds(60))
      #expect(result.failureReason == "script_failure")
      #expect(await gitlab.downloads[70] == 1)
      let log = try String(contentsOf: output, encoding: .utf8)
      let first = try #require(log.split(separator: "\n").first, "the runner logged nothing")
      #expect(first.contains("TLS CERTIFICATES ARE NOT VERIFIED"), "\(log)")
      #expect(first.contains("warning"), "\(first)")
    }
  }

  @Test func withoutSkipVerifyTheSameExpiredGitLabIsRefused() async throws {
    try await runGitLabJob(
      behind: certificates.expired, requiringClientCertificates: false,
      arguments: ["--tls-ca-file", certificates.ca.path]
    ) { gitlab, job, _, output in
      let log = try await waitForLog(
        output, containing: "asking GitLab for a job failed", within: .seconds(30))
      #expect(log.contains("certificate has expired"), "\(log)")
      #expect(!log.contains("NOT VERIFIED"))
      #expect(await gitlab.status(of: job.id) == .pending)
    }
  }

  // MARK: A whole job

  @Test(.enabled(if: LAVATestServer.isConfigured))
  func aWholeJobRunsOverTLSWithAPrivateCAForGitLabArtifactDownloadsAndLAVA() async throws {
    let server = try LAVATestServer.fromEnvironment()
    let worker = server.playedWorker()
    let http = try HTTPClient()
    defer { http.requestShutdown() }
    try await worker.whileOnline {
      try await freePlayedDevices(worker: worker, http: http)
      try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .milliseconds(500))) { gitlab in
        await gitlab.addRunnerToken(Self.runnerToken)
        let gitlabProxy = try TLSProxy.start(serving: certificates.server, to: UInt16(await gitlab.url.port!))
        let storageProxy = try TLSProxy.start(
          serving: certificates.server, to: await gitlab.objectStoragePort)
        let lavaProxy = try TLSProxy.start(serving: certificates.server, to: UInt16(server.url.port!))
        let proxies = [gitlabProxy, storageProxy, lavaProxy]
        defer { for proxy in proxies { proxy.stop() } }
        await gitlab.redirectObjectStorage(to: storageProxy.url(host: "localhost"))
        let lavaURL = lavaProxy.url().absoluteString + "/"
        let job = await gitlab.enqueue(
          FakeJob(name: "tls-whole-job", script: ["submit lava-job.yaml"])
            .variable(.init("LAVA_URL", lavaURL))
            .variable(.init("LAVA_TOKEN", server.token, masked: true))
            .dependency(
              .init(
                id: 91, name: "prepare",
                archive: .files(["lava-job.yaml": server.playedJobDefinition(name: "tls-whole-job")]),
                viaObjectStorage: true)
            )
            .artifact(.init(paths: ["*_log.yaml"], when: "always")))
        let (process, output) = try BuiltRunner.start(
          ["run", "--check-interval", "0.2", "--tls-ca-file", certificates.ca.path],
          environment: [
            "GITLAB_URL": gitlabProxy.url(host: "localhost").absoluteString, "GITLAB_TOKEN": Self.runnerToken,
          ])
        defer { stop(process) }
        let id = try await lavaJobID(of: job, in: gitlab)
        _ = try await worker.startNextJob(id)
        try await worker.run(id)
        try await worker.sendLog(id, [PlayedWorker.logLine("hello over TLS")])
        try await worker.sendLog(id, [PlayedWorker.resultLine(suite: "smoke", case: "tls", result: "pass")])
        try await worker.finish(id, result: .pass)
        let result = try await gitlab.result(of: job.id, timeout: .seconds(90))
        let trace = await gitlab.traceText(of: job.id)
        #expect(result.status == .success, "\(trace.suffix(2000))")
        #expect(trace.contains("hello over TLS"))
        #expect(trace.contains("\(lavaURL)scheduler/job/\(id)"), "\(trace.suffix(2000))")
        #expect(await gitlab.objectStorageDownloads[91] == 1)
        #expect(await gitlab.uploads(of: job.id).contains { $0.artifactType == "archive" })
        for proxy in proxies {
          #expect(proxy.handshakeFailures == [], "port \(proxy.port)")
        }
        stop(process)
        let log = try String(contentsOf: output, encoding: .utf8)
        #expect(!log.contains(server.token))
        #expect(!trace.contains(server.token))
        #expect(await gitlab.violations == [])
      }
    }
  }

  /// The LAVA job id the runner printed in the GitLab job's log.
  func lavaJobID(of job: EnqueuedJob, in gitlab: FakeGitLab) async throws -> Int64 {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(60)
    while clock.now < deadline {
      let trace = await gitlab.traceText(of: job.id)
      if let range = trace.range(of: #"/scheduler/job/(\d+)"#, options: .regularExpression),
        let id = Int64(trace[range].split(separator: "/").last!)
      {
        return id
      }
      try await Task.sleep(for: .milliseconds(200))
    }
    throw PlayedWorkerError.timedOut("GitLab job \(job.id) never showed its LAVA job")
  }
}
