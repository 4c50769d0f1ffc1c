import Protocols
import TestSupport
import Testing

@testable import Commands

/// Issue 11, finding 13 (LAVA log half): what a board prints reaches the GitLab job log with
/// its colours but without acting on the viewer.
@Suite struct LAVALogControlCharacterTests {
  static let hostile =
    "a\u{07}b \u{1B}]0;pwned\u{07} \u{1B}]8;;https://evil.example\u{1B}\\link\u{1B}]8;;\u{1B}\\ "
    + "\u{00}\u{1B}[2J\u{1B}[0Ksection_start:1:fake\r\u{1B}[0K \u{7F}\u{9B}31m end"

  @Test func finding13_lavaLogControlCharactersAreShownNotPassedOn() {
    let rendered = LAVALogRenderer().render(.lava("target", Self.hostile))
    let body = rendered.drop { $0 != " " }.dropFirst()
    // Only the renderer's own colour sequences remain as escapes.
    let escapes = rendered.unicodeScalars.filter { $0.value < 0x20 && $0 != "\n" }.count
    #expect(escapes == rendered.components(separatedBy: "\u{1B}[").count - 1, "\(rendered.debugDescription)")
    #expect(!rendered.unicodeScalars.contains { $0.value == 0x07 || $0.value == 0x00 || $0.value == 0x9B })
    // The carriage return ends a line, as it always did; each piece shows its escapes.
    #expect(
      body.contains("a␇b ␛]0;pwned␇ ␛]8;;https://evil.example␛\\link␛]8;;␛\\ ␀␛[2J␛[0Ksection_start:1:fake"))
    #expect(rendered.contains("␛[0K ␡<U+009B>31m end\n"))
  }

  @Test func finding13_coloursTheBoardPrintedAreKeptForGitLab() {
    let rendered = LAVALogRenderer().render(.lava("target", "\u{1B}[1;32mPASS\u{1B}[0m ok"))
    #expect(rendered.hasSuffix(" \u{1B}[1;32mPASS\u{1B}[0m ok\n"))
  }

  @Test func finding13_rawLinesTimestampsAndLevelsAreCleanedToo() {
    let raw = LAVALogRenderer().render(LAVALogLine(raw: "not yaml \u{1B}]0;t\u{07}", entry: nil))
    #expect(raw.hasSuffix("not yaml ␛]0;t␇\n"))
    let odd = LAVALogRenderer().render(
      LAVALogLine(
        raw: "-", entry: LAVALogEntry(timestamp: "x\u{07}", level: "\u{1B}]2;", message: .text("m"))))
    #expect(!odd.unicodeScalars.contains { $0.value == 0x07 })
    #expect(!odd.contains("\u{1B}]"))
  }

  @Test func finding13_plainTextIsReturnedUnchanged() {
    let text = "tab\there, é ü ©, emoji 🎉, newline\n"
    #expect(ControlCharacters.visible(text, keepingColours: false) == text)
    #expect(ControlCharacters.visible("a\r\nb\rc", keepingColours: true) == "a\nb␍c")
  }
}
