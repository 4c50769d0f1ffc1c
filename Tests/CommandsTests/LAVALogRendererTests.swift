import Protocols
import Testing

@testable import Commands

private let gray = "\u{1B}[90m"
private let reset = "\u{1B}[0;m"

private func plain(_ text: String) -> String {
  text.replacingOccurrences(of: "\u{1B}\\[[0-9;]*[A-Za-z]", with: "", options: .regularExpression)
}

@Test func everyLevelGetsItsOwnTagAndTheTimeOfDay() {
  let renderer = LAVALogRenderer()
  let levels = ["info", "debug", "target", "input", "warning", "error", "exception", "feedback", "marker"]
  let rendered = levels.map { plain(renderer.render(.lava($0, "hello"))) }
  #expect(
    rendered == [
      "01:38:32 info hello\n",
      "01:38:32 dbg  hello\n",
      "01:38:32 tgt  hello\n",
      "01:38:32 in   hello\n",
      "01:38:32 warn hello\n",
      "01:38:32 err  hello\n",
      "01:38:32 exc  hello\n",
      "01:38:32 fdbk hello\n",
      "01:38:32 mark hello\n",
    ])
}

@Test func levelsAreColouredSoThatTheyStandApart() {
  let renderer = LAVALogRenderer()
  #expect(
    renderer.render(.lava("error", "boom"))
      == "\(gray)01:38:32\(reset) \u{1B}[31;1merr \(reset) \u{1B}[31;1mboom\(reset)\n")
  #expect(
    renderer.render(.lava("target", "login:"))
      == "\(gray)01:38:32\(reset) \u{1B}[34;1mtgt \(reset) login:\n")
  #expect(
    renderer.render(.lava("debug", "x")) == "\(gray)01:38:32\(reset) \(gray)dbg \(reset) \(gray)x\(reset)\n")
}

@Test func resultLinesAreCompactAndColouredByOutcome() {
  let renderer = LAVALogRenderer()
  let pass = renderer.render(.result(["definition": "0_smoke", "case": "uname", "result": "pass"]))
  let fail = renderer.render(.result(["definition": "0_smoke", "case": "ping", "result": "fail"]))
  let skip = renderer.render(.result(["definition": "0_smoke", "case": "wifi", "result": "skip"]))
  #expect(pass.contains("\u{1B}[32;1m✔ 0_smoke/uname: pass"))
  #expect(fail.contains("\u{1B}[31;1m✘ 0_smoke/ping: fail"))
  #expect(skip.contains("\u{1B}[33;1m– 0_smoke/wifi: skip"))
  #expect(plain(pass) == "01:38:45 res  ✔ 0_smoke/uname: pass\n")
  let measured = renderer.render(
    .result(["definition": "perf", "case": "boot", "result": "pass", "measurement": "12.5", "units": "s"]))
  #expect(plain(measured) == "01:38:45 res  ✔ perf/boot: pass (12.5 s)\n")
  #expect(
    plain(renderer.render(lavaJobFail("Infrastructure", "tftp timed out")))
      == "01:38:45 res  ✘ lava/job: fail [Infrastructure: tftp timed out]\n")
}

@Test func anUnparsableLineIsShownRawNeverDropped() {
  let raw =
    "- {\"dt\": \"2026-11-29T01:38:32.6\", \"lvl\": \"results\", \"msg\": {\"endtc\": ! \"558\"  BROKEN"
  let rendered = LAVALogRenderer().render(LAVALogLine(raw: raw, entry: nil))
  #expect(plain(rendered) == "         raw  \(raw)\n")
}

@Test func multiLineMessagesKeepTheirTagOnEveryLine() {
  let renderer = LAVALogRenderer(prefix: "[12] ")
  let line = LAVALogLine(
    raw: "-",
    entry: LAVALogEntry(timestamp: "2026-11-29T01:38:32.1", level: "info", message: .lines(["a", "b"])))
  #expect(plain(renderer.render(line)) == "[12] 01:38:32 info a\n[12] 01:38:32 info b\n")
  let text = LAVALogLine(
    raw: "-",
    entry: LAVALogEntry(timestamp: "2026-11-29T01:38:32.1", level: "target", message: .text("x\r\ny")))
  #expect(plain(renderer.render(text)) == "[12] 01:38:32 tgt  x\n[12] 01:38:32 tgt  y\n")
}

@Test func anOddTimestampIsShownAsLAVASentIt() {
  #expect(LAVALogRenderer.timeOfDay("2026-11-29T01:38:32.619219") == "01:38:32")
  #expect(LAVALogRenderer.timeOfDay("yesterday") == "yesterday")
  #expect(LAVALogRenderer.timeOfDay("2026-11-29T1:2") == "2026-11-29T1:2")
}
