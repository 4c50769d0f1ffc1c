import Testing

@testable import EndToEndBenchmark

/// `Benchmarks/e2e`'s options: the fast default, `--full`, and what they refuse.
@Suite struct EndToEndBenchmarkOptionsTests {
  @Test func theDefaultRunIsTheFastOneAtTheIssuesSizes() throws {
    let command = try EndToEndBenchmark.parse(["--runner", "/bin/true"])
    #expect(command.jobs == 1000)
    #expect(command.logMB == 50)
    let plan = try command.plan()
    #expect(
      plan
        == .init(
          parts: Parts("abc")!, settle: 15, window: 15, sample: 3, serverIdle: 3, lavacliMB: 2,
          preparedSubmissions: true, directLog: true, overlap: true))
  }

  @Test func fullRunsRealSubmissionsTheLogThroughLAVAsAPIAndLongerWindowsOneAfterTheOther() throws {
    let plan = try EndToEndBenchmark.parse(["--runner", "/bin/true", "--full"]).plan()
    #expect(
      plan
        == .init(
          parts: Parts("abc")!, settle: 30, window: 30, sample: 3, serverIdle: 5, lavacliMB: 5,
          preparedSubmissions: false, directLog: false, overlap: false))
  }

  @Test func optionsGivenOverrideTheModesDefaults() throws {
    let plan = try EndToEndBenchmark.parse([
      "--runner", "/bin/true", "--full", "--window", "40", "--settle", "5", "--sample", "4", "--lavacli-mb",
      "3",
      "--submissions", "prepared", "--log-upload", "direct", "--parts", "a",
    ]).plan()
    #expect(plan.window == 40)
    #expect(plan.settle == 5)
    #expect(plan.sample == 4)
    #expect(plan.lavacliMB == 3)
    #expect(plan.preparedSubmissions)
    #expect(plan.directLog)
    #expect(!plan.overlap)
    #expect(plan.parts == Parts("a"))
  }

  @Test func aWindowOfFewerThanThreeSamplesIsRefused() {
    #expect(throws: (any Error).self) {
      try EndToEndBenchmark.parse(["--runner", "/bin/true", "--window", "8", "--sample", "3"])
    }
    #expect(throws: Never.self) {
      try EndToEndBenchmark.parse(["--runner", "/bin/true", "--window", "9", "--sample", "3"])
    }
  }

  @Test func unknownSubmissionsLogUploadAndPartsAreRefused() {
    for arguments in [
      ["--submissions", "cached"], ["--log-upload", "scp"], ["--parts", "abd"], ["--parts", ""],
      ["--lavacli-mb", "60"], ["--jobs", "0"],
    ] {
      #expect(throws: (any Error).self, "\(arguments)") {
        try EndToEndBenchmark.parse(["--runner", "/bin/true"] + arguments)
      }
    }
  }

  @Test func oneOrTwoRunnersAreNeededUnlessCancelingThePreparedJobs() throws {
    #expect(throws: (any Error).self) { try EndToEndBenchmark.parse([]) }
    #expect(throws: (any Error).self) {
      try EndToEndBenchmark.parse(["--runner", "a", "--runner", "b", "--runner", "c"])
    }
    #expect(try EndToEndBenchmark.parse(["--cancel-prepared"]).cancelPrepared)
  }

  @Test func partsAreTheLettersAToCInAnyOrder() throws {
    let some = try #require(Parts("c, b"))
    #expect(some.log && some.latency && !some.waiting)
    #expect(Parts("a")?.latencyOrLog == false)
    #expect(Parts("x") == nil)
  }

  @Test func aRunnerIsLabelledByItsLabelOrItsFileName() {
    let labelled = EndToEndBenchmark.binary("base=/work/baseline-bin/lava-runner")
    #expect(labelled.label == "base")
    #expect(labelled.path == "/work/baseline-bin/lava-runner")
    let plain = EndToEndBenchmark.binary("/tmp/x/lava-runner")
    #expect(plain.label == "lava-runner")
    #expect(plain.path == "/tmp/x/lava-runner")
  }
}
