import Foundation

/// GitLab's checks of a dotenv report (`Ci::ParseDotenvArtifactService` and `Ci::JobVariable`):
/// the uploaded file under `dotenv_size` (5 KiB by default), every line `KEY=VALUE`, keys of
/// letters, digits and `_` (at most 255), at most `dotenv_variables` (20 by default) variables.
/// GitLab answers 400 with the message when one fails; so does the fake, and records a violation
/// (a runner must never upload a dotenv report GitLab refuses).
public enum DotenvRules {
  public static let maximumFileBytes = 5 * 1024
  public static let maximumVariables = 20
  public static let maximumKeyLength = 255

  /// Nil when GitLab would accept `file` (the uploaded gzip stream); else GitLab's message.
  public static func problem(inUpload file: Data) -> String? {
    guard file.count < maximumFileBytes else {
      return "Dotenv Artifact Too Big. Maximum Allowable Size: 5 KiB"
    }
    let data: Data
    do {
      data = try Archives.gunzip(file)
    } catch {
      return "dotenv report is not a gzip stream: \(error)"
    }
    return problem(inText: data)
  }

  /// The checks of the decompressed text.
  public static func problem(inText data: Data) -> String? {
    guard let text = String(data: data, encoding: .utf8) else { return "Invalid Format (not UTF-8)" }
    var keys = Set<String>()
    var lines = text.components(separatedBy: "\n")
    if lines.last == "" { lines.removeLast() }
    for (index, line) in lines.enumerated() {
      guard let equals = line.firstIndex(of: "=") else {
        return "Invalid Format (line \(index + 1) is not KEY=VALUE)"
      }
      let key = line[..<equals].trimmingCharacters(in: .whitespaces)
      let value = line[line.index(after: equals)...]
      guard !key.isEmpty, key.count <= maximumKeyLength,
        key.unicodeScalars.allSatisfy({
          $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_")
        })
      else {
        return "Validation failed: Key can contain only letters, digits and '_' (line \(index + 1))"
      }
      if value.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\t" }) {
        return "Invalid Format (line \(index + 1) holds a control character)"
      }
      keys.insert(key)
    }
    guard keys.count <= maximumVariables else {
      return "Dotenv files cannot have more than \(maximumVariables) variables"
    }
    return nil
  }

  /// The variables of an accepted text, as GitLab stores them (key and value stripped; a later
  /// line wins).
  public static func variables(_ data: Data) -> [String: String] {
    var result: [String: String] = [:]
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
      guard let equals = line.firstIndex(of: "=") else { continue }
      result[line[..<equals].trimmingCharacters(in: .whitespaces)] =
        line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
    }
    return result
  }
}
