import Foundation
import Protocols

/// Real LAVA job logs, as LAVA 2023.01's `jobs/<id>/logs/` served them for the qemu fixtures
/// (Tests/Fixtures/lava/logs; see the README there), turned into log lines the way the runner's
/// parser does for what commands look at: text, lists of text and `results` fields.
public enum LAVALogFixture {
  public static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures/lava/logs")

  /// Every line of `name` (e.g. `qemu-fail.log.yaml`), none dropped: a line that is not an
  /// entry is kept raw.
  public static func lines(_ name: String) throws -> [LAVALogLine] {
    let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    return text.split(separator: "\n").map { line(String($0)) }
  }

  public static func line(_ raw: String) -> LAVALogLine {
    // LAVA tags some result values (`"endtc": ! "557"`): the tag changes nothing here.
    let json = raw.dropFirst(2).replacingOccurrences(of: ": ! \"", with: ": \"")
    guard raw.hasPrefix("- "),
      let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
      let level = object["lvl"] as? String, let message = object["msg"]
    else { return LAVALogLine(raw: raw, entry: nil) }
    let parsed: LAVALogMessage
    switch message {
    case let text as String: parsed = .text(text)
    case let texts as [String]: parsed = .lines(texts)
    case let fields as [String: Any] where level == "results":
      parsed = .result(fields.mapValues { ($0 as? String) ?? compact($0) })
    default: parsed = .other(compact(message))
    }
    return LAVALogLine(
      raw: raw, entry: LAVALogEntry(timestamp: object["dt"] as? String ?? "", level: level, message: parsed))
  }

  private static func compact(_ value: Any) -> String {
    guard JSONSerialization.isValidJSONObject(value),
      let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
    else { return String(describing: value) }
    return String(decoding: data, as: UTF8.self)
  }
}
