import Protocols
import Testing

@testable import Commands

/// Findings of the `definition-template` fuzz target (Fuzz/README.md) in code another change
/// is rewriting: disabled until its owner takes them, each with the input that shows it.
@Suite struct DefinitionTemplateFuzzFindingTests {
  /// The renderer puts `{{% CONTENT_TYPE: TEXT }}` before the text; when the text starts with a
  /// blank line, mustache takes that line as the pragma's standalone line and drops it, so the
  /// definition LAVA receives is one line shorter and the line numbers of LAVA's errors are one
  /// less than in the file (fuzz input `\na:b \x0e`).
  @Test(.disabled("finding of the definition-template fuzz target, for the template's owner"))
  func aLeadingBlankLineIsKeptSoThatLineNumbersMatchTheFile() throws {
    let variables = JobVariables([JobVariable(key: "A", value: "1")])
    for text in ["\njob_name: {{ job.A }}\n", "  \njob_name: x\n"] {
      let rendered = try DefinitionTemplate(name: "t.yaml", text: text).render(with: variables)
      #expect(
        rendered.split(separator: "\n", omittingEmptySubsequences: false).count
          == text.split(separator: "\n", omittingEmptySubsequences: false).count)
    }
  }
}
