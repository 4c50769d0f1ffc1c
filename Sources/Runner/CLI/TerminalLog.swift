import Foundation
import GitLabAPI
import HTTP
import JobEngine
import LAVA
import Protocols
import RunnerCore
import Synchronization
import YAML

/// The job log of `lava-runner exec`, written to a terminal or a file instead of GitLab: masked
/// as the GitLab trace is (streaming, so a secret split across writes is still hidden), GitLab
/// section markers dropped, ANSI colours kept only when `colours` is true, other control
/// characters made visible.
final class TerminalLog: MaskingJobLog {
  private struct State {
    var masker: SecretMasker
    var renderer: TerminalLogRenderer
  }

  private let state: Mutex<State>
  private let sink: @Sendable (String) -> Void

  /// - Parameter sink: receives rendered text in order; called under a lock, so keep it short.
  init(secrets: [String], colours: Bool, sink: @escaping @Sendable (String) -> Void) {
    state = Mutex(
      State(masker: SecretMasker(secrets: secrets), renderer: TerminalLogRenderer(colours: colours)))
    self.sink = sink
  }

  /// Writes to standard output.
  static func standardOutput(secrets: [String], colours: Bool) -> TerminalLog {
    TerminalLog(secrets: secrets, colours: colours) { text in
      FileHandle.standardOutput.write(Data(text.utf8))
    }
  }

  func write(_ text: String) async {
    state.withLock { state in
      let rendered = state.renderer.feed(state.masker.write(text.utf8))
      if !rendered.isEmpty { sink(rendered) }
    }
  }

  func addMask(_ secret: String) {
    state.withLock { $0.masker.addMask(secret) }
  }

  /// Releases what the masker and the renderer still hold; call once at the end.
  func finish() {
    state.withLock { state in
      let rendered = state.renderer.feed(state.masker.flush()) + state.renderer.flush()
      if !rendered.isEmpty { sink(rendered) }
    }
  }
}

/// Turns the GitLab job log into plain terminal text, a whole line at a time so that a marker
/// split across writes is still recognised.
struct TerminalLogRenderer: Sendable {
  let colours: Bool
  private var pending: [UInt8] = []

  init(colours: Bool) {
    self.colours = colours
  }

  /// Renders every complete line of what has arrived so far.
  mutating func feed(_ bytes: [UInt8]) -> String {
    pending.append(contentsOf: bytes)
    guard let lastNewline = pending.lastIndex(of: UInt8(ascii: "\n")) else { return "" }
    let lines = String(decoding: pending[...lastNewline], as: UTF8.self)
    pending.removeFirst(lastNewline + 1)
    return render(lines)
  }

  /// Renders what is left, with a final newline if it lacked one.
  mutating func flush() -> String {
    guard !pending.isEmpty else { return "" }
    let rest = String(decoding: pending, as: UTF8.self)
    pending = []
    let rendered = render(rest)
    return rendered.isEmpty || rendered.hasSuffix("\n") ? rendered : rendered + "\n"
  }

  /// Without colours the escape sequences are dropped; either way any other control
  /// character left (a BEL, an OSC title) is made visible rather than sent to the terminal.
  func render(_ text: String) -> String {
    var text = text.replacing(Self.sectionMarker, with: "")
    if !colours { text = text.replacing(Self.ansiSequence, with: "") }
    return ControlCharacters.visible(text, keepingColours: colours)
  }

  nonisolated(unsafe) private static let sectionMarker =
    #/\x{1B}\[0Ksection_(?:start|end):[0-9]+:[A-Za-z0-9_.-]+(?:\[[^\]\r\n]*\])?\r\x{1B}\[0K/#
  nonisolated(unsafe) private static let ansiSequence = #/\x{1B}\[[0-9;?]*[A-Za-z]/#
}
