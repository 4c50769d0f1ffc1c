import Testing

@testable import EndToEndBenchmark

/// The table `Benchmarks/e2e` prints: a column per binary, the ratio second/first, the target.
@Suite struct ResultTableTests {
  static func waiting(cpu: Spread, jobs: Int = 1000) -> WaitingFigures {
    WaitingFigures(
      jobs: jobs, submitSeconds: 12, rssMiB: 150, threads: 8, cpuPercent: cpu,
      lavaRequestsPerSecond: Spread(mean: 0.3, low: 0, high: 1, samples: 5),
      lavaServerPercent: Spread(mean: 3, low: 2, high: 4, samples: 5), lavaServerIdlePercent: 1)
  }

  static func cells(_ table: ResultTable, _ prefix: String) throws -> [String] {
    let line = try #require(table.markdown().split(separator: "\n").first { $0.hasPrefix("| \(prefix)") })
    return line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
  }

  @Test func twoBinariesGetTheirColumnsTheTargetAndTheRatioOfSecondOverFirst() throws {
    var table = ResultTable(labels: ["baseline", "this"])
    table.row("(b) runner CPU per MB", target: "≤ 20 ms", [250, 25], unit: " ms")
    let header = try #require(table.markdown().split(separator: "\n").first)
    #expect(header.contains("figure") && header.contains("target (issue 10)"))
    #expect(header.contains("this ÷ baseline"))
    #expect(
      try Self.cells(table, "(b) runner CPU") == [
        "(b) runner CPU per MB", "≤ 20 ms", "250.0 ms", "25.0 ms", "0.10×",
      ])
  }

  @Test func aRateShowsItsMeanAndItsLowestAndHighestSampleAndTheRatioOfTheMeans() throws {
    var table = ResultTable(labels: ["baseline", "this"])
    table.add(
      waiting: [
        Self.waiting(cpu: Spread(mean: 4, low: 3, high: 6, samples: 5)),
        Self.waiting(cpu: Spread(mean: 2, low: 1.5, high: 2.5, samples: 5)),
      ], settle: 15, window: 10, sample: 2, prepared: true)
    #expect(
      try Self.cells(table, "(a) runner CPU")
        == ["(a) runner CPU, % of a core", "≤ 10 %", "4.0 % (3.0–6.0)", "2.0 % (1.5–2.5)", "0.50×"])
    let markdown = table.markdown()
    #expect(markdown.contains("each given a prepared queued job"))
    #expect(markdown.contains("15 s after, 10 s window"))
    #expect(markdown.contains("2 s sample"))
  }

  @Test func theTargetsSayAt1000OnlyWhenAnotherSizeWasMeasured() throws {
    var atSize = ResultTable(labels: ["this"])
    atSize.add(
      waiting: [Self.waiting(cpu: .init(mean: 1, low: 1, high: 1, samples: 3))], settle: 1, window: 3,
      sample: 1, prepared: false)
    #expect(try Self.cells(atSize, "(a) LAVA requests")[1] == "≤ 2")
    #expect(atSize.markdown().contains("time to submit all and see them queued"))
    var smaller = ResultTable(labels: ["this"])
    smaller.add(
      waiting: [Self.waiting(cpu: .init(mean: 1, low: 1, high: 1, samples: 3), jobs: 200)], settle: 1,
      window: 3,
      sample: 1, prepared: false)
    #expect(try Self.cells(smaller, "(a) LAVA requests")[1] == "≤ 2 at 1000")
  }

  @Test func oneBinaryHasNoRatioColumnAndAFigureThatIsNotANumberShowsADash() throws {
    var table = ResultTable(labels: ["this"])
    table.row("ratio of nothing", target: "", [.nan])
    table.row("a zero base", target: "", [0])
    #expect(!table.markdown().contains("÷"))
    #expect(try Self.cells(table, "ratio of nothing") == ["ratio of nothing", "", "—"])
    var two = ResultTable(labels: ["a", "b"])
    two.row("a zero base", target: "", [0, 1])
    #expect(try Self.cells(two, "a zero base").last == "—")
  }

  @Test func everyRowHasAsManyCellsAsTheHeader() {
    var table = ResultTable(labels: ["baseline", "this"])
    table.add(
      waiting: [
        Self.waiting(cpu: .init(mean: 1, low: 1, high: 1, samples: 3)),
        Self.waiting(cpu: .init(mean: 2, low: 2, high: 2, samples: 3)),
      ],
      settle: 15, window: 10, sample: 2, prepared: true)
    table.text("a note", "text")
    let counts = Set(table.markdown().split(separator: "\n").map { $0.filter { $0 == "|" }.count })
    #expect(counts == [6])
  }
}

@Suite struct SpreadTests {
  @Test func theMeanIsOverTheWholeWindowAndTheRangeOverTheSamples() {
    let spread = Spread(readings: [(0, 0), (2, 1), (4, 5), (6, 6)])
    #expect(spread.mean == 1)
    #expect(spread.low == 0.5)
    #expect(spread.high == 2)
    #expect(spread.samples == 3)
  }

  @Test func ratesAreScaledAndUnevenSamplesWeighedByTheirLength() {
    // CPU seconds read at 0, 1 and 4 s: 0.1 s in the first second, 0.3 s in the next three.
    let spread = Spread(readings: [(0, 10), (1, 10.1), (4, 10.4)], scale: 100)
    #expect(abs(spread.mean - 10) < 1e-9)
    #expect(abs(spread.low - 10) < 1e-9)
    #expect(abs(spread.high - 10) < 1e-9)
  }
}
