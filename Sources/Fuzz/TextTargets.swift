import Commands
import Foundation
import GitLabAPI
import JobEngine
import LAVA
import Protocols
import YAML

extension FuzzTarget {
  /// Script lines from `.gitlab-ci.yml`: any line either splits into words or is refused with
  /// a column inside it; words that split are the words: quoted back, they split the same.
  static let scriptTokenizer = FuzzTarget(
    name: "script-tokenizer", summary: "JobEngine ScriptTokenizer: script lines into words"
  ) { data in
    let line = String(decoding: data, as: UTF8.self)
    do throws(ScriptSyntaxError) {
      let words = try ScriptTokenizer.tokenize(line)
      let quoted = words.map { "'" + $0.map { $0 == "'" ? "'\\''" : String($0) }.joined() + "'" }
      // The tokenizer reads Characters: a word starting with a combining mark merges with the
      // quote before it, so such words cannot be quoted back (reported, see Fuzz/README.md).
      let merged = zip(words, quoted).contains { word, quoted in
        quoted.count != word.reduce(2) { $0 + ($1 == "'" ? 4 : 1) }
      }
      guard !merged else { return }
      let again = try? ScriptTokenizer.tokenize(quoted.joined(separator: " "))
      fuzzCheck(
        again == words, "words \(words) quoted as \(quoted) split into \(again.map { "\($0)" } ?? "an error")"
      )
    } catch {
      fuzzCheck(
        error.column >= 1 && error.column <= line.count, "column \(error.column) outside \(line.count)")
    }
  }

  /// LAVA job definitions through `validate` and `submit`'s checks: libyaml, the node tree,
  /// the definition rules. Messages show control characters as escapes, never raw.
  static let definition = FuzzTarget(
    name: "definition", summary: "YAML parser and LAVA JobDefinitionValidator"
  ) { data in
    let text = String(decoding: data, as: UTF8.self)
    let validator = JobDefinitionValidator()
    let findings = validator.findings(in: text, file: "fuzz.yaml")
    fuzzCheck(findings.diagnostics.count <= validator.maximumShown, "more diagnostics than maximumShown")
    fuzzCheck(findings.total >= findings.diagnostics.count, "total below the diagnostics shown")
    for line in findings.lines {
      fuzzCheck(
        !line.utf8.contains(0x1B) && !line.utf8.contains(0x07), "a raw ESC or BEL in \(line.debugDescription)"
      )
    }
  }

  /// LAVA's `jobs/<id>/logs/` replies into lines and job log text: one line per line of the
  /// body, none dropped or merged; every line renders.
  static let lavaLog = FuzzTarget(
    name: "lava-log", summary: "LAVA LAVALogParser and Commands' LAVALogRenderer"
  ) { data in
    let lines = LAVALogParser.lines(in: data)
    let pieces = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    let terminated = pieces.count - 1
    fuzzCheck(
      lines.count == terminated || lines.count == terminated + 1 && !pieces[terminated].isEmpty,
      "\(lines.count) lines from \(terminated) terminated ones")
    for (line, piece) in zip(lines, pieces) {
      fuzzCheck(
        line.raw == String(decoding: piece, as: UTF8.self), "raw line changed: \(line.raw.debugDescription)")
      let text = CommandsFuzzEntryPoints.render(line, prefix: "[7] ")
      fuzzCheck(text.hasSuffix("\n") && text.hasPrefix("[7] "), "rendered as \(text.debugDescription)")
    }
  }

  /// `monitor-file`'s jobs.json: a list of distinct positive ids, or a script failure.
  static let jobIDsFile = FuzzTarget(
    name: "jobs-json", summary: "Commands' LAVAJobIDsFile (monitor-file's jobs.json)"
  ) { data in
    do throws(CommandFailure) {
      let ids = try CommandsFuzzEntryPoints.jobIDs(in: data)
      fuzzCheck(!ids.isEmpty, "no ids and no error")
      fuzzCheck(ids.allSatisfy { $0 > 0 }, "an id ≤ 0 in \(ids)")
      fuzzCheck(Set(ids).count == ids.count, "a duplicate id in \(ids)")
    } catch {
      fuzzCheck(error.failureReason == .scriptFailure, "\(error.failureReason) for a bad file")
    }
  }

  /// `submit`'s templates: renders or fails the job with a message; a text without tags is
  /// sent as written.
  static let definitionTemplate = FuzzTarget(
    name: "definition-template", summary: "Commands' DefinitionTemplate (submit's {{ job.NAME }})"
  ) { data in
    let variables = JobVariables([
      JobVariable(key: "DEVICE_TYPE", value: "qemu"),
      JobVariable(key: "EMPTY", value: ""),
      JobVariable(key: "QUOTED", value: "a \"b\" {{ job.DEVICE_TYPE }} <&>"),
      JobVariable(key: "MULTI", value: "one\ntwo\n"),
    ])
    do throws(CommandFailure) {
      let rendered = try CommandsFuzzEntryPoints.renderTemplate(data, variables: variables)
      let text = String(decoding: data, as: UTF8.self)
      if !text.contains("{{") {
        fuzzCheck(
          TemplateText.asRendered(text).contains(rendered),
          "a text without tags rendered as \(rendered.debugDescription)")
      }
    } catch {
      fuzzCheck(error.failureReason == .scriptFailure, "\(error.failureReason) for a bad template")
      fuzzCheck(!error.message.isEmpty, "an empty message")
    }
  }

  /// GitLab's reply to a job request, decoded as the poller does.
  static let jobPayload = FuzzTarget(
    name: "job-payload", summary: "GitLabAPI JobPayload (GitLab's job reply)"
  ) { data in
    _ = try? JSONDecoder().decode(JobPayload.self, from: data)
  }
}

/// What the template renderer makes of a text without tags: the text, except for two known
/// findings (Fuzz/README.md): a first line of blanks is taken for the standalone line of the
/// pragma the renderer puts first, and dropped (`DefinitionTemplateFuzzFindingTests`); a last
/// line of blanks without a line break is dropped (harmless in YAML).
enum TemplateText {
  static func asRendered(_ text: String) -> Set<String> {
    let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
    var heads = [text[...]]
    // Mustache's line breaks are Characters that are newlines: \n, \r\n, \u{B}, \u{C}, ….
    if let end = text.firstIndex(where: { !blank($0) }), text[end].isNewline {
      heads.append(text[text.index(after: end)...])
    }
    var results = Set<String>()
    for head in heads {
      results.insert(String(head))
      let lastLine = head.lastIndex(where: \.isNewline).map { head.index(after: $0) } ?? head.startIndex
      if lastLine < head.endIndex, head[lastLine...].allSatisfy(blank) {
        results.insert(String(head[..<lastLine]))
      }
    }
    return results
  }
}
