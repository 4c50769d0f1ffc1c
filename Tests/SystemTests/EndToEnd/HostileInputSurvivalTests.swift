import Foundation
import TestSupport
import Testing

/// Issue 11, "Done when": a runner serving other jobs survives every reproducer of the bad-input
/// probe. The built binary takes normal LAVA jobs and one job per reproducer at once from the
/// strict fake GitLab, against a fake LAVA that the test drives; every job must get its final
/// state, the runner must still be alive and stop cleanly, and no secret may show anywhere.
@Suite(.serialized) struct HostileInputSurvivalTests {
  static let runnerToken = "glrt-survive-runner-token-0123456"
  static let lavaToken = "lavaSurviveToken9f3a2c71"
  static let lavaUser = "survivor"
  static let lavaPassword = "hunter2Survive77"

  /// What a fake LAVA job serves once it runs, chosen by the `job_name` of its definition.
  enum LAVABehaviour: String, CaseIterable {
    case normal, tokenWithMarks, deepJSONLine, base60Line, controlBytes
  }

  /// One job the runner takes, and what its end must be.
  struct Case {
    var name: String
    var job: FakeJob
    /// nil: the job succeeds.
    var failure: (reason: String, message: String)?
    /// Words the trace must hold besides the failure message (its bytes, whatever follows them).
    var traceHolds: [String] = []
    /// What the trace must not hold (misleading words).
    var traceLacks: [String] = []
  }

  static func definition(_ name: String, priority: String = "medium", timeout: String = "minutes: 5")
    -> String
  {
    """
    job_name: \(name)
    device_type: qemu
    visibility: public
    priority: \(priority)
    timeouts:
      job: {\(timeout)}
    actions:
    - boot:
        method: qemu

    """
  }

  static func lavaJob(_ name: String, definition: String, lavaURL: String) -> FakeJob {
    FakeJob(name: name, script: ["submit lava-job.yaml"])
      .variable(.init("LAVA_URL", lavaURL))
      .variable(.init("LAVA_TOKEN", lavaToken, masked: true))
      .dependency(.init(id: 1, name: "prepare", archive: .files(["lava-job.yaml": definition])))
      .artifact(.init(paths: ["*_log.yaml"], when: "always"))
      .artifact(.junit(paths: ["*_junit.xml"]))
  }

  /// The normal jobs and one job per reproducer of issue 11's findings.
  static func cases(lavaURL: URL) -> [Case] {
    let url = lavaURL.absoluteString
    var cases: [Case] = (1...4).map { index in
      Case(
        name: "normal-\(index)",
        job: lavaJob("normal-\(index)", definition: definition("normal-\(index)"), lavaURL: url),
        traceHolds: ["normal-\(index) booted"])
    }
    // Finding 1: a base-60 number past 64 bits.
    cases.append(
      Case(
        name: "base60-definition",
        job: lavaJob(
          "base60-definition", definition: definition("base60", priority: "153722867280912931:0"),
          lavaURL: url),
        failure: ("script_failure", "an integer too large for 64 bits")))
    // Finding 2: nesting 50,000 levels deep.
    let deep = String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000) + "\n"
    cases.append(
      Case(
        name: "deep-definition", job: lavaJob("deep-definition", definition: deep, lavaURL: url),
        failure: ("script_failure", "levels deep")))
    // Finding 3: a 1.1 MB definition with 10,000 unknown keys holding 40,000 list items.
    var big = definition("big")
    for index in 0..<10_000 {
      big +=
        "unknown_key_\(index): [item-a-\(index)-padding-padding, item-b-\(index)-padding-padding, "
        + "item-c-\(index)-padding, item-d-\(index)-padding]\n"
    }
    cases.append(
      Case(
        name: "big-definition", job: lavaJob("big-definition", definition: big, lavaURL: url),
        failure: ("script_failure", "unknown top-level key 'unknown_key_0'"),
        traceHolds: ["more problems not shown"]))
    // Finding 4: credentials in LAVA_URL.
    var credentials = URLComponents(url: lavaURL, resolvingAgainstBaseURL: false)!
    credentials.user = lavaUser
    credentials.password = lavaPassword
    cases.append(
      Case(
        name: "url-credentials",
        job: lavaJob("url-credentials", definition: definition("credentials"), lavaURL: credentials.string!),
        failure: ("script_failure", "holds a user name or password")))
    // Finding 9: a job timeout past what any integer type holds in seconds.
    cases.append(
      Case(
        name: "days-overflow",
        job: lavaJob(
          "days-overflow", definition: definition("days", timeout: "days: 9223372036854775807"), lavaURL: url),
        failure: ("script_failure", "longer than LAVA can hold"),
        traceLacks: ["-1 days"]))
    // Finding 10: a pragma that would turn on HTML escaping of values.
    cases.append(
      Case(
        name: "html-pragma",
        job: lavaJob(
          "html-pragma",
          definition: "{{% CONTENT_TYPE: HTML }}\n"
            + definition("pragma").replacingOccurrences(
              of: "method: qemu", with: "method: '{{ job.BOOT_METHOD }}'"),
          lavaURL: url
        )
        .variable(.init("BOOT_METHOD", "qemu&<nfs>", isPublic: true)),
        failure: ("script_failure", "pragma")))
    // Findings 5, 2, 1 and 13 through LAVA's log: the job itself passes.
    for behaviour in LAVABehaviour.allCases where behaviour != .normal {
      cases.append(
        Case(
          name: behaviour.rawValue,
          job: lavaJob(behaviour.rawValue, definition: definition(behaviour.rawValue), lavaURL: url),
          // The token's line is shown, masked (so that the byte search below has something to miss).
          traceHolds: ["\(behaviour.rawValue) booted"]
            + (behaviour == .tokenWithMarks ? ["token [MASKED]"] : [])))
    }
    return cases
  }

  static let timestamp = #""dt": "2026-11-30T12:00:00.000000""#

  static func logLine(_ message: String) -> String {
    #"- {\#(timestamp), "lvl": "target", "msg": "\#(message)"}"#
  }

  /// The log a fake LAVA job serves for `behaviour`, ending with `<name> booted`.
  static func log(_ behaviour: LAVABehaviour, name: String) -> [String] {
    var lines = [logLine("\(name) starting")]
    switch behaviour {
    case .normal: break
    case .tokenWithMarks:
      lines += [
        logLine("token \(lavaToken)\u{0301} echoed"), logLine("token \(lavaToken)\u{FE0F} echoed"),
        "raw \(lavaToken)\u{0301} and \(lavaToken)\u{FE0F}",
      ]
    case .deepJSONLine:
      let nested = String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000)
      lines += [#"- {\#(timestamp), "lvl": "target", "msg": \#(nested)}"#, "- " + nested]
    case .base60Line:
      lines += [
        #"- {\#(timestamp), "lvl": "target", "msg": 153722867280912931:0}"#, "- 153722867280912931:0:0",
      ]
    case .controlBytes:
      lines += [
        logLine(#"title \u001b]0;owned\u0007 set"#),
        "raw \u{1B}]8;;http://evil.example/\u{07}link\u{1B}]8;;\u{07}",
      ]
    }
    return lines + [logLine("\(name) booted")]
  }

  /// Plays LAVA: a submitted job runs at once with its log, then finishes Complete after
  /// `runFor`, with a passing test case.
  static func driveLAVA(_ lava: FakeLAVA, runFor: Duration, until deadline: ContinuousClock.Instant) async {
    var finishing: [Int64: ContinuousClock.Instant] = [:]
    let clock = ContinuousClock()
    while clock.now < deadline, !Task.isCancelled {
      for (id, definition) in await lava.definitions where finishing[id] == nil {
        let name =
          definition.split(separator: "\n").first { $0.hasPrefix("job_name: ") }
          .map { String($0.dropFirst("job_name: ".count)) } ?? "unnamed"
        let behaviour = LAVABehaviour(rawValue: name) ?? .normal
        await lava.update(id) {
          $0.state = "Running"
          $0.device = "qemu-01"
          $0.testCases = [FakeLAVATestCase(suite: "smoke", name: "boot", result: "pass")]
          $0.junit = #"<testsuites><testsuite name="smoke"><testcase name="boot"/></testsuite></testsuites>"#
        }
        await lava.appendLog(id, log(behaviour, name: name))
        finishing[id] = clock.now + runFor
      }
      for (id, at) in finishing where at <= clock.now {
        await lava.update(id) {
          guard $0.state != "Finished" else { return }
          $0.state = "Finished"
          $0.health = "Complete"
        }
      }
      try? await Task.sleep(for: .milliseconds(100))
    }
  }

  /// Every form of a secret a leak could take: raw, base64 (also as `user:password` in a Basic
  /// header) and percent-encoded.
  static func forms(of secrets: [String]) -> [String] {
    var forms = secrets
    forms.append(Data("\(lavaUser):\(lavaPassword)".utf8).base64EncodedString())
    for secret in secrets {
      forms.append(Data(secret.utf8).base64EncodedString())
      forms.append(secret.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? secret)
    }
    return forms
  }

  func waitForExit(_ process: Process, within timeout: Duration) async throws -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while process.isRunning && clock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
    return !process.isRunning
  }

  @Test func aRunnerServingOtherJobsSurvivesEveryReproducerOfTheBadInputProbe() async throws {
    let clock = ContinuousClock()
    try await FakeLAVA.withRunning(token: Self.lavaToken) { lava in
      try await FakeGitLab.withRunning(configuration: .init(longPollTimeout: .milliseconds(500))) { gitlab in
        await gitlab.addRunnerToken(Self.runnerToken)
        let cases = Self.cases(lavaURL: await lava.url)
        var jobs: [(Case, EnqueuedJob)] = []
        for (index, testCase) in cases.enumerated() {
          // The fake GitLab keeps one archive per dependency id: each job gets its own.
          let job = testCase.job.with { $0.dependencies[0].id = Int64(100 + index) }
          jobs.append((testCase, await gitlab.enqueue(job)))
        }
        let (process, output) = try BuiltRunner.start(
          ["run", "--check-interval", "0.2", "--concurrent", "\(cases.count + 2)"],
          environment: ["GITLAB_URL": await gitlab.url.absoluteString, "GITLAB_TOKEN": Self.runnerToken])
        defer {
          if process.isRunning {
            process.terminate()
            process.waitUntilExit()
          }
        }
        let driver = Task { await Self.driveLAVA(lava, runFor: .seconds(4), until: clock.now + .seconds(60)) }
        defer { driver.cancel() }

        for (testCase, job) in jobs {
          let result = try await gitlab.result(of: job.id, timeout: .seconds(45))
          let trace = await gitlab.traceText(of: job.id)
          if let failure = testCase.failure {
            #expect(result.status == .failed, "\(testCase.name): \(trace.suffix(2000))")
            #expect(result.failureReason == failure.reason, "\(testCase.name): \(trace.suffix(2000))")
            #expect(trace.contains(failure.message), "\(testCase.name): \(trace.suffix(2000))")
          } else {
            #expect(result.status == .success, "\(testCase.name): \(trace.suffix(2000))")
          }
          for words in testCase.traceHolds {
            #expect(trace.containsBytes(of: words), "\(testCase.name): the job log lacks '\(words)'")
          }
          for words in testCase.traceLacks {
            #expect(!trace.contains(words), "\(testCase.name): the job log says '\(words)'")
          }
          let bytes = await gitlab.trace(of: job.id)
          #expect(
            !bytes.containsBytes(of: "\u{1B}]"), "\(testCase.name): an OSC sequence reached the job log")
          #expect(!bytes.contains(0x07), "\(testCase.name): a BEL byte reached the job log")
        }
        #expect(process.isRunning, "the runner died serving the reproducers")

        // No value reached LAVA HTML-escaped.
        for definition in await lava.submittedDefinitions {
          #expect(!definition.contains("&amp;") && !definition.contains("&lt;"))
        }

        kill(process.processIdentifier, SIGQUIT)
        #expect(try await waitForExit(process, within: .seconds(15)), "the runner did not stop on SIGQUIT")
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)

        let runnerLog = try Data(contentsOf: output)
        let secrets = Self.forms(of: [Self.lavaToken, Self.lavaPassword, Self.runnerToken])
        var places: [(String, Data)] = [("the runner's log", runnerLog)]
        for (testCase, job) in jobs {
          places.append(("\(testCase.name)'s job log", await gitlab.trace(of: job.id)))
          for upload in await gitlab.uploads(of: job.id) {
            let contents: [Data] =
              upload.artifactFormat == "zip"
              ? Array(try upload.zipEntries().values) : [try upload.gunzipped()]
            for data in contents { places.append(("an artifact of \(testCase.name)", data)) }
          }
          #expect(
            !runnerLog.containsBytes(of: job.token), "the runner's log holds \(testCase.name)'s job token")
        }
        for (place, data) in places {
          for secret in secrets {
            #expect(!data.containsBytes(of: secret), "\(place) holds a secret ('\(secret.prefix(4))…')")
          }
        }
        #expect(await gitlab.violations == [])
        #expect(await lava.violations == [])
      }
    }
  }
}
