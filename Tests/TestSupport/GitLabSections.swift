import Foundation

/// Checks the collapsible sections of a job log as GitLab reads them
/// (`section_start:<time>:<name>[options]\r\e[0K` … `section_end:<time>:<name>\r\e[0K`).
public enum GitLabSections {
  public struct Marker: Equatable, Sendable {
    public var starts: Bool
    public var time: Int
    public var name: String
    public var options: String
  }

  /// Every marker GitLab would see, in order.
  public static func markers(in log: String) -> [Marker] {
    let pattern = #"section_(start|end):([0-9]+):([A-Za-z0-9_.-]+)(\[[^\]\r]*\])?\r\x1B\[0K"#
    guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
    let text = log as NSString
    return regex.matches(in: log, range: NSRange(location: 0, length: text.length)).map { match in
      func group(_ index: Int) -> String {
        let range = match.range(at: index)
        return range.location == NSNotFound ? "" : text.substring(with: range)
      }
      return Marker(starts: group(1) == "start", time: Int(group(2)) ?? 0, name: group(3), options: group(4))
    }
  }

  /// Why the sections are not well formed; empty when every section is closed, once, in the
  /// reverse order of opening, with a unique name of `[a-z0-9_.-]`, and never ends before it starts.
  public static func problems(in log: String) -> [String] {
    var problems: [String] = []
    var open: [Marker] = []
    var seen: Set<String> = []
    for marker in markers(in: log) {
      if marker.starts {
        if seen.contains(marker.name) { problems.append("section \(marker.name) started twice") }
        if marker.name.contains(where: {
          !($0.isASCII && ($0.isLowercase || $0.isNumber || "_.-".contains($0)))
        }) {
          problems.append("section name \(marker.name) is not made of [a-z0-9_.-]")
        }
        seen.insert(marker.name)
        open.append(marker)
      } else if let last = open.last, last.name == marker.name {
        if marker.time < last.time { problems.append("section \(marker.name) ends before it starts") }
        open.removeLast()
      } else if open.contains(where: { $0.name == marker.name }) {
        problems.append("section \(marker.name) ends while \(open.last!.name) inside it is open")
        open.removeAll { $0.name == marker.name }
      } else {
        problems.append("section \(marker.name) ends without having started")
      }
    }
    problems += open.map { "section \($0.name) is never closed" }
    return problems
  }

  /// The header of each section (the text after its start marker, colours removed), by name.
  public static func headers(in log: String) -> [(name: String, header: String, collapsed: Bool)] {
    let pattern = #"section_start:[0-9]+:([A-Za-z0-9_.-]+)(\[[^\]\r]*\])?\r\x1B\[0K([^\n]*)"#
    guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
    let text = log as NSString
    return regex.matches(in: log, range: NSRange(location: 0, length: text.length)).map { match in
      let header = text.substring(with: match.range(at: 3)).replacingOccurrences(
        of: "\u{1B}\\[[0-9;]*[A-Za-z]", with: "", options: .regularExpression)
      let options = match.range(at: 2).location == NSNotFound ? "" : text.substring(with: match.range(at: 2))
      return (text.substring(with: match.range(at: 1)), header, options.contains("collapsed=true"))
    }
  }
}
