import Foundation

/// One message of LAVA's event stream (lava-publisher, `<LAVA_URL>/ws/`): a JSON array
/// `[topic, uuid, datetime, username, data]` whose `data` is itself a JSON string, e.g.
/// `{"job": 723, "state": "Submitted", "health": "Unknown", …}` for a job's state change.
///
/// Events are only wake-ups: the watcher confirms every one with a batched request, so a
/// message that cannot be read is taken as "something may have changed".
package enum LAVAEvent: Equatable, Sendable {
  /// A job changed; its id when the message names one.
  case testJob(id: Int64?)
  /// A device, a worker or anything else: not a job's state.
  case other

  package init(message: String) {
    guard let array = try? JSONSerialization.jsonObject(with: Data(message.utf8)) as? [Any],
      let topic = array.first as? String
    else {
      self = .testJob(id: nil)
      return
    }
    guard topic.hasSuffix(".testjob") else {
      self = .other
      return
    }
    guard array.count >= 5, let data = array[4] as? String,
      let fields = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any]
    else {
      self = .testJob(id: nil)
      return
    }
    let job = fields["job"]
    let id: Int64? =
      if let number = job as? Int { Int64(number) } else if let text = job as? String { Int64(text) } else {
        nil
      }
    self = .testJob(id: id)
  }

  /// Whether the watcher should ask LAVA now: a job event for a watched id, or one whose id is
  /// unknown.
  package func concerns(_ watched: Set<Int64>) -> Bool {
    switch self {
    case .testJob(let id?): watched.contains(id)
    case .testJob(nil): true
    case .other: false
    }
  }
}
