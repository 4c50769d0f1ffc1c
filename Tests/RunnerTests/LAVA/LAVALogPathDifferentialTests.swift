import Foundation
import Protocols
import TestSupport
import Testing

@testable import Commands
@testable import LAVA

/// The byte-level LAVA log path (scanner, renderer and sections shortcuts, one write per page)
/// against the path it replaced (Reference/), on a large seeded corpus of real-shaped lines:
/// the same lines, the same job log text, the same raw artifact bytes, the same failure summary.
@Suite struct LAVALogPathDifferentialTests {
  @Test(arguments: [UInt64(0x1A7A), 0xB17E5, 0x5EC7, 0xF00D])
  func parsedLinesMatchTheReferenceParser(seed: UInt64) {
    var generator = SplitMix64(seed: seed)
    let body = LAVALogCorpus.body(lines: 3000, using: &generator)
    // Cut anywhere, as a reply may end in the middle of a line LAVA is still writing.
    var start = 0
    while start < body.count {
      let end = min(body.count, start + 1 + Int(generator.next() % 40_000))
      let page = body[start..<end]
      let lines = LAVALogParser.lines(in: page)
      let reference = ReferenceLAVALogParser.lines(in: page)
      #expect(lines.count == reference.count)
      for (line, expected) in zip(lines, reference) where line != expected {
        Issue.record(
          "\(line.raw.debugDescription): \(String(describing: line.entry)) != \(String(describing: expected.entry))"
        )
      }
      start = end
    }
  }

  @Test(arguments: [UInt64(7), 0xCAFE, 0xD1FF, 0xB17E5, 0x5EED_0010, 0x5EED_0011])
  func jobLogTextAndRawArtifactMatchTheReferencePath(seed: UInt64) throws {
    var generator = SplitMix64(seed: seed)
    let body = LAVALogCorpus.body(lines: 1500, using: &generator)
    let pages = LAVALogCorpus.pages(of: body, using: &generator)
    for configuration in 0..<5 {
      var renderer = LAVALogRenderer()
      var reference = ReferenceLAVALogRenderer()
      switch configuration {
      case 1:
        renderer.prefix = "[12] "
        reference.prefix = "[12] "
        renderer.levels = LAVALogLevels("target,info,results,error")!
        reference.levels = renderer.levels
      case 2:
        renderer.deviceSections = true
        reference.deviceSections = true
      case 3, 4:
        // LAVA_LOG_LIMIT reached in the middle of the log: the note once, then only some levels.
        renderer.volume = LAVALogVolume(limit: body.count / 3, artifacts: ["42_log.yaml"])
        reference.volume = LAVALogVolume(limit: body.count / 3, artifacts: ["42_log.yaml"])
        if configuration == 4 { renderer.prefix = "[7] " }
        reference.prefix = renderer.prefix
      default: break
      }
      let plain = configuration == 1 || configuration == 4
      var sections = LAVALogSections(jobID: 42, renderer: renderer)
      var referenceSections = ReferenceLAVALogSections(jobID: 42, renderer: reference)
      var error = LAVAJobError()
      var referenceError = ReferenceLAVAJobError()
      var text = ""
      var expected = ""
      var artifact: [UInt8] = []
      var expectedArtifact: [UInt8] = []
      for page in pages {
        let lines = LAVALogParser.lines(in: page)
        text += LAVALogFollower.text(
          of: lines, structure: &sections, plain: plain ? renderer : nil, error: &error)
        for line in lines { artifact += Array(line.raw.utf8) + [0x0A] }
        for line in ReferenceLAVALogParser.lines(in: page) {
          referenceError.note(line)
          expected += plain ? reference.renderIfShown(line) : referenceSections.consume(line)
          expectedArtifact += Array(line.raw.utf8) + [0x0A]
        }
        // What the open sections keep for a failure block or a checkpoint, page after page.
        #expect(sections.open.map(\.recent) == referenceSections.open.map(\.recent))
        #expect(sections.open.map(\.id) == referenceSections.open.map(\.id))
      }
      text += sections.finish("the test stopped")
      expected += referenceSections.finish("the test stopped")
      #expect(artifact == expectedArtifact)
      #expect(error.lastTargetLines == referenceError.lastTargetLines)
      #expect(error.type == referenceError.type && error.message == referenceError.message)
      #expect(error.failedAction == referenceError.failedAction)
      #expect(sections.failedAction == referenceSections.failedAction)
      #expect(text.utf8.count > body.count / 4, "the corpus renders to something")
      if text != expected {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let expectedLines = expected.split(separator: "\n", omittingEmptySubsequences: false)
        let first =
          zip(lines, expectedLines).enumerated().first { $0.element.0 != $0.element.1 }?.offset
          ?? min(lines.count, expectedLines.count)
        let got = first < lines.count ? lines[first].debugDescription : "the end"
        let want = first < expectedLines.count ? expectedLines[first].debugDescription : "the end"
        Issue.record("configuration \(configuration): job log differs at line \(first): \(got) != \(want)")
      }
    }
  }

  @Test func scannerReadsNearlyEveryUsualLineAndAgreesWithTheDecoderOnEach() throws {
    var generator = SplitMix64(seed: 0x5CA4)
    let body = LAVALogCorpus.body(lines: 4000, using: &generator)
    var accepted = 0
    var usual = 0
    for piece in body.split(separator: UInt8(ascii: "\n")) {
      let bytes = Array(piece.last == 0x0D ? piece.dropLast() : piece)
      let text = String(decoding: bytes, as: UTF8.self)
      let decoded = LAVALogParser.entry(ofJSONLine: text) ?? LAVALogParser.entry(ofYAMLLine: text)
      if decoded != nil { usual += 1 }
      guard let scanned = bytes.withUnsafeBufferPointer(LAVALogScanner.entry) else { continue }
      accepted += 1
      #expect(scanned == decoded, "\(text.debugDescription)")
    }
    // The corpus has odd lines on purpose; real logs are nearly all of the usual shape.
    #expect(accepted * 10 >= usual * 7, "the scanner read \(accepted) of \(usual) entries")
    // Real logs: every line but the results that carry nested values or YAML tags.
    var fixtureLines = 0
    var fixtureScanned = 0
    for line in LAVALogCorpus.fixtureLines {
      fixtureLines += 1
      if line.withUnsafeBufferPointer(LAVALogScanner.entry) != nil { fixtureScanned += 1 }
    }
    #expect(
      fixtureScanned * 100 >= fixtureLines * 95,
      "the scanner read \(fixtureScanned) of \(fixtureLines) fixture lines")
  }
}

/// Real-shaped LAVA log lines from a seed: the fixture logs' lines, and generated ones of every
/// kind the runner must read the same way as before: usual JSON lines with escapes (`\uXXXX`,
/// surrogate pairs, lone surrogates), control characters, colours, section markers, non-ASCII
/// and combining marks; YAML-tagged results; multi-line messages and lists; results mappings;
/// other mappings and scalars; malformed and truncated lines; invalid UTF-8.
enum LAVALogCorpus {
  static let fixtureLines: [[UInt8]] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: LAVALogFixture.directory.path)) ?? []
    return names.sorted().flatMap { name -> [[UInt8]] in
      guard let data = try? Data(contentsOf: LAVALogFixture.directory.appendingPathComponent(name)) else {
        return []
      }
      return data.split(separator: UInt8(ascii: "\n")).map(Array.init)
    }
  }()

  static func body(lines count: Int, using generator: inout SplitMix64) -> Data {
    precondition(!fixtureLines.isEmpty, "the fixture logs are missing")
    var body: [UInt8] = []
    var previous: [UInt8] = []
    for index in 0..<count {
      var line: [UInt8]
      switch generator.next() % 20 {
      case 0..<6: line = fixtureLines[Int(generator.next() % UInt64(fixtureLines.count))]
      case 6:
        // The device printing the same line again, or the same text in other bytes (a
        // decomposed `é`): equal as Strings, not as bytes.
        line = generator.next() % 3 == 0 ? decomposed(previous) : previous
      case 7: line = malformed(usual(index, &generator), &generator)
      default: line = usual(index, &generator)
      }
      previous = line
      // Runs of the same line, as a device repeating itself prints them.
      for _ in 0..<(generator.next() % 30 == 0 ? 1 + generator.next() % 6 : 1) {
        body += line
        if generator.next() % 50 == 0 { body.append(0x0D) }
        body.append(0x0A)
      }
    }
    return Data(body)
  }

  /// The line with every precomposed `é` (C3 A9) written as `e` and a combining acute accent.
  static func decomposed(_ line: [UInt8]) -> [UInt8] {
    var result: [UInt8] = []
    var index = 0
    while index < line.count {
      if index + 1 < line.count, line[index] == 0xC3, line[index + 1] == 0xA9 {
        result += [0x65, 0xCC, 0x81]
        index += 2
      } else {
        result.append(line[index])
        index += 1
      }
    }
    return result
  }

  /// The body cut into replies of whole lines, as LAVA serves pages.
  static func pages(of body: Data, using generator: inout SplitMix64) -> [Data] {
    var pages: [Data] = []
    var lines = body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()[...]
    while !lines.isEmpty {
      let count = 1 + Int(generator.next() % 700)
      let page = lines.prefix(count)
      lines = lines.dropFirst(count)
      pages.append(Data(page.map { Array($0) + [0x0A] }.joined()))
    }
    return pages
  }

  static let levels = [
    "target", "target", "target", "info", "info", "debug", "results", "input", "warning", "error",
    "exception",
    "feedback", "résumé", "x",
  ]

  static func usual(_ index: Int, _ generator: inout SplitMix64) -> [UInt8] {
    let level = levels[Int(generator.next() % UInt64(levels.count))]
    let message: String
    switch generator.next() % 12 {
    case 0:
      message =
        "["
        + (0..<Int(1 + generator.next() % 3)).map { _ in json(text(&generator), &generator) }.joined(
          separator: ", ") + "]"
    case 1: message = "[]"
    case 2 where level == "results", 3 where level == "results": message = result(&generator)
    case 4: message = #"{"b": null, "a": [1, "x"], "n": 1.50}"#
    case 5: message = ["null", "12", "true", "1.5e3"][Int(generator.next() % 4)]
    default: message = json(text(&generator), &generator)
    }
    return Array(
      "- {\"dt\": \(json(timestamp(index, &generator), &generator)), \"lvl\": \(json(level, &generator)), \"msg\": \(message)}"
        .utf8)
  }

  static func timestamp(_ index: Int, _ generator: inout SplitMix64) -> String {
    switch generator.next() % 25 {
    case 0: return ""
    case 1: return "yesterday"
    case 2: return "2026-13-40T25:61:99.000000"
    case 3: return "2026-11-29T05:00:0\(index % 10).5\u{301}"
    case 4: return "2026-11-29 05:00:01"
    default:
      let second = index / 7 % 60
      return
        "2026-11-29T05:\(index / 420 % 60 < 10 ? "0" : "")\(index / 420 % 60):\(second < 10 ? "0" : "")\(second).\(100_000 + index % 900_000)"
    }
  }

  static func result(_ generator: inout SplitMix64) -> String {
    let outcome = ["pass", "fail", "skip", "unknown"][Int(generator.next() % 4)]
    let definition = ["0_smoke", "lava", "1_more", ""][Int(generator.next() % 4)]
    let name = ["job", "uname", "tc-\(generator.next() % 9)", "2 boot-image-retry", "validate"][
      Int(generator.next() % 5)]
    var fields = [
      #""case": \#(json(name, &generator))"#, #""definition": "\#(definition)""#, #""result": "\#(outcome)""#,
    ]
    switch generator.next() % 6 {
    case 0: fields.append(#""level": "\#(generator.next() % 4)""#)
    case 1: fields.append(#""measurement": "12.5", "units": "ms""#)
    case 2:
      fields.append(#""error_type": "Infrastructure", "error_msg": \#(json(text(&generator), &generator))"#)
    case 3: fields.append(#""endtc": ! "558", "starttc": ! "512""#)
    case 4: fields.append(#""measurement": 1.50, "extra": {"k": [1, "x"]}"#)
    default: break
    }
    return "{" + fields.shuffled(using: &generator).joined(separator: ", ") + "}"
  }

  /// Message text: words, and pieces the log path treats specially.
  static func text(_ generator: inout SplitMix64) -> String {
    let pieces = [
      "Linux version 6.1.0", "[    1.234567] usb 1-1: new device", "[ 12.34] not a kernel stamp",
      "[   3.000001]",
      "start: 1 tftp-deploy (timeout 00:02:00) [common]", "end: 1 tftp-deploy (duration 00:00:03) [common]",
      "start: 1.1 nested (timeout 00:01:00)", "<LAVA_SIGNAL_STARTRUN 0_smoke 1_2>",
      "<LAVA_SIGNAL_ENDRUN 0_smoke 1_2>",
      "<LAVA_SIGNAL_STARTTC uname>", "<LAVA_SIGNAL_ENDTC uname>", "<LAVA_SIGNAL_TESTSET START set1>",
      "<LAVA_SIGNAL_TESTSET STOP>", "Received signal: <ENDRUN> 0_smoke 1_2",
      "Received signal: <TESTSET> STOP",
      "\u{1B}[0Ksection_start:1700000000:build[collapsed=true]\r\u{1B}[0K",
      "\u{1B}[0Ksection_end:1700000000:build\r\u{1B}[0K",
      "\u{1B}[0Ksection_start:1700000000:bu", "\u{1B}[32mPASS\u{1B}[0m", "\u{1B}[2J", "\u{1B}]0;title\u{07}",
      "\u{07}",
      "\u{0}", "\u{8}", "\u{C}", "\u{7F}", "\u{85}", "\u{9B}31m", "line\nbreak", "crlf\r\nbreak",
      "progress 50%\r", "trail\r\r",
      "\r",
      "tab\there", "quote \" and \\ backslash", "café naïve", "日本語", "e\u{301}", "\u{301}lead", "😀",
      "\u{FEFF}",
      "ok", "root@debian:~# ", " ", "",
      "\n\u{301}after a line feed", "crlf\r\r\nx", "\n", "\r\n", "[    1.234567]\u{7}bell",
      "[    1.234567]\u{301}", "[    1.234567]\u{1B}[0m", "[    1.234567]", "[1.234567] ok",
      "[    1.2345678]",
      "résumé", "sé", "\u{C2}\u{85}", "\u{1B}[31;1mred\u{1B}[0;m", "x\u{1B}[0K", "\u{9}",
    ]
    return (0..<Int(1 + generator.next() % 4)).map { _ in pieces[Int(generator.next() % UInt64(pieces.count))]
    }
    .joined(separator: generator.next() % 3 == 0 ? "" : " ")
  }

  /// A JSON string for `text`, escaping as LAVA's json.dumps does or as another writer might.
  static func json(_ text: String, _ generator: inout SplitMix64) -> String {
    let asciiOnly = generator.next() % 2 == 0
    var result = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += generator.next() % 4 == 0 ? "\\u005c" : "\\\\"
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += generator.next() % 3 == 0 ? "\\u0009" : "\\t"
      case "\u{8}" where generator.next() % 2 == 0: result += "\\b"
      case "\u{C}" where generator.next() % 2 == 0: result += "\\f"
      case "/": result += generator.next() % 2 == 0 ? "\\/" : "/"
      case _ where scalar.value < 0x20 || scalar.value == 0x7F || (asciiOnly && scalar.value > 0x7F):
        if scalar.value > 0xFFFF {
          let value = scalar.value - 0x10000
          result += hex(0xD800 + value >> 10) + hex(0xDC00 + value & 0x3FF)
        } else {
          result += hex(scalar.value)
        }
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result + "\""
  }

  static func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
  }

  /// A line damaged as a reader may see it.
  static func malformed(_ line: [UInt8], _ generator: inout SplitMix64) -> [UInt8] {
    var line = line
    switch generator.next() % 10 {
    case 0: line = Array(line.prefix(Int(generator.next() % UInt64(line.count + 1))))
    case 1: line.insert(0xFF, at: Int(generator.next() % UInt64(line.count + 1)))
    case 2: line.insert(contentsOf: [0xE2, 0x80], at: Int(generator.next() % UInt64(line.count + 1)))
    case 3: line = Array(#"- {"lvl": "info", "dt": "t", "msg": "keys in another order"}"#.utf8)
    case 4: line = Array(#"- {"dt": "t", "lvl": "target", "msg": "raw\#ttab", "extra": 1}"#.utf8)
    case 5: line = Array(#"- {"dt": "t", "lvl": "target", "msg": "lone \ud800 and \udc00"}"#.utf8)
    case 6: line = Array(#"- {"dt": "t", "lvl": "target", "msg": "bad \x escape \u12"}"#.utf8)
    case 7: line = Array("  ".utf8) + line + Array("  ".utf8)
    case 8:
      line = Array(
        #"- {"dt": "t", "lvl": "results", "msg": {"case": "a", "case": "b", "result": "pass"}}"#.utf8)
    default: line = Array("not a log line at all: \(generator.next())".utf8)
    }
    return line
  }
}
