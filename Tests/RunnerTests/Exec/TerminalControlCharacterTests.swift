import Foundation
import Testing

@testable import GitLabAPI
@testable import HTTP
@testable import JobEngine
@testable import LAVA
@testable import Runner
@testable import RunnerCore
@testable import YAML

/// Issue 11, finding 13: `lava-runner exec --no-color` sends no escape or control byte from a
/// LAVA log to the terminal; with colours only colour sequences pass.
@Suite struct TerminalControlCharacterTests {
  static func printed(_ text: String, colours: Bool) async -> String {
    let printed = ExecPrintedText()
    let log = TerminalLog(secrets: [], colours: colours) { printed.append($0) }
    await log.write(text)
    log.finish()
    return printed.value
  }

  @Test func finding13_execNoColorPrintsOSCAndBELVisiblyAndNoEscapeByte() async {
    let text = await Self.printed(
      "\u{1B}[34;1mtgt \u{1B}[0;m title\u{1B}]0;pwned\u{07} bell\u{07} nul\u{00}\n", colours: false)
    #expect(text == "tgt  title␛]0;pwned␇ bell␇ nul␀\n")
    #expect(!text.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" })
  }

  @Test func finding13_execWithColourKeepsColoursButShowsOtherSequences() async {
    let text = await Self.printed("\u{1B}[31;1merr\u{1B}[0;m \u{1B}[2J\u{1B}]8;;x\u{07}\n", colours: true)
    #expect(text == "\u{1B}[31;1merr\u{1B}[0;m ␛[2J␛]8;;x␇\n")
  }

  @Test func finding13_sectionMarkersAreStillDroppedNotShown() async {
    let marker = "\u{1B}[0Ksection_start:1700000000:submit\r\u{1B}[0K"
    #expect(await Self.printed(marker + "Submitting\n", colours: false) == "Submitting\n")
  }
}
