import Foundation
import Protocols

/// The file `monitor-file` reads: `{"jobids": [1, 2, 3]}`, as the pipelines that submit LAVA
/// jobs themselves write it.
enum LAVAJobIDsFile {
  /// A jobs.json is a list of ids: a few hundred bytes. Anything near this is not one.
  static let maximumBytes = 1 << 20
  static let limitText = "1 MiB, the most a jobs.json may be (it lists LAVA job ids): check the path"
  /// More jobs than one GitLab job can sensibly wait for.
  static let maximumIDs = 10_000

  static func parse(_ data: Data, name: String) throws(CommandFailure) -> [Int64] {
    func invalid(_ problem: String) -> CommandFailure {
      CommandFailure(
        .scriptFailure,
        "monitor-file: \(name) \(problem); expected a JSON object such as {\"jobids\": [1, 2, 3]}")
    }
    let object: Any
    do {
      object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    } catch {
      throw invalid(
        "is not JSON (\((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? "unreadable"))")
    }
    guard let dictionary = object as? [String: Any] else { throw invalid("is JSON but not an object") }
    guard let value = dictionary["jobids"] else {
      throw invalid("has no \"jobids\" key (keys: \(dictionary.keys.sorted().joined(separator: ", ")))")
    }
    guard let list = value as? [Any] else { throw invalid("has \"jobids\" that is not a list") }
    guard !list.isEmpty else { throw invalid("lists no job ids (\"jobids\" is empty)") }
    guard list.count <= maximumIDs else {
      throw invalid("lists \(list.count) job ids, more than the \(maximumIDs) one job may wait for")
    }
    let elements: [Element]
    do {
      elements = try JSONDecoder().decode(Listing.self, from: data).jobids
    } catch {
      throw invalid("has \"jobids\" that cannot be read as a list")
    }
    var ids: [Int64] = []
    for (index, element) in elements.enumerated() {
      guard let id = element.id else {
        throw invalid("has \"jobids\"[\(index)] = \(element.text), which is not an integer job id")
      }
      guard id > 0 else { throw invalid("has \"jobids\"[\(index)] = \(id); LAVA job ids are positive") }
      if let first = ids.firstIndex(of: id) {
        throw invalid("lists job \(id) twice (\"jobids\"[\(first)] and [\(index)])")
      }
      ids.append(id)
    }
    return ids
  }

  private struct Listing: Decodable {
    var jobids: [Element]
  }

  /// One entry of `jobids`, whatever JSON it holds, so that errors can say what it was.
  private struct Element: Decodable {
    var id: Int64?
    var text: String

    init(from decoder: any Decoder) throws {
      let value = try decoder.singleValueContainer()
      if let id = try? value.decode(Int64.self) {
        (self.id, text) = (id, String(id))
      } else if value.decodeNil() {
        text = "null"
      } else if let flag = try? value.decode(Bool.self) {
        text = String(flag)
      } else if let number = try? value.decode(Double.self) {
        text = String(number)
      } else if let string = try? value.decode(String.self) {
        text = "\"\(string)\""
      } else {
        text = "a list or an object"
      }
    }
  }
}
