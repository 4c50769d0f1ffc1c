import Foundation

/// The job log a command writes to. The runner masks secrets before any byte leaves the
/// process and sends the log to GitLab in order; writes may wait when GitLab is slow.
public protocol JobLog: Sendable {
  /// Appends `text` as it is (it may hold ANSI colours and need not end a line).
  func write(_ text: String) async

  /// Appends text given as its UTF-8 bytes, as ``write(_:)`` would append it (a log that
  /// keeps bytes takes them without a String).
  func write(utf8 bytes: [UInt8]) async
}

extension JobLog {
  public func write(utf8 bytes: [UInt8]) async {
    await write(String(decoding: bytes, as: UTF8.self))
  }
}

/// ANSI colours, as GitLab's log viewer renders them.
public enum LogColor: String, Sendable {
  case red = "\u{1B}[31;1m"
  case green = "\u{1B}[32;1m"
  case yellow = "\u{1B}[33;1m"
  case blue = "\u{1B}[34;1m"
  case magenta = "\u{1B}[35;1m"
  case cyan = "\u{1B}[36;1m"
  case gray = "\u{1B}[90m"
  static let reset = "\u{1B}[0;m"
}

extension JobLog {
  /// Appends one line.
  public func line(_ text: String) async {
    await write(text + "\n")
  }

  /// Appends one line in a colour.
  public func line(_ text: String, color: LogColor) async {
    await write(color.rawValue + text + LogColor.reset + "\n")
  }

  public func info(_ text: String) async { await line(text, color: .green) }
  public func warning(_ text: String) async { await line("WARNING: " + text, color: .yellow) }
  public func error(_ text: String) async { await line("ERROR: " + text, color: .red) }

  /// Wraps what `body` writes in a GitLab collapsible section.
  ///
  /// `name` must be unique within the job and made of `[a-zA-Z0-9_.-]`; other characters are
  /// replaced by `_`.
  public func section<T>(
    _ name: String,
    header: String,
    collapsed: Bool = false,
    now: @Sendable () -> Date = Date.init,
    _ body: () async throws -> T
  ) async rethrows -> T {
    let id = LogSection.identifier(name)
    let options = collapsed ? "[collapsed=true]" : ""
    await write(LogSection.start(id: id, options: options, at: now()) + header + "\n")
    do {
      let result = try await body()
      await write(LogSection.end(id: id, at: now()))
      return result
    } catch {
      await write(LogSection.end(id: id, at: now()))
      throw error
    }
  }
}

/// GitLab's collapsible section markers.
public enum LogSection {
  static let erase = "\u{1B}[0K"

  public static func identifier(_ name: String) -> String {
    String(
      name.map { character in
        character.isASCII && (character.isLetter || character.isNumber || "_.-".contains(character))
          ? character : "_"
      })
  }

  public static func start(id: String, options: String = "", at date: Date) -> String {
    "\(erase)section_start:\(Int(date.timeIntervalSince1970)):\(id)\(options)\r\(erase)"
  }

  public static func end(id: String, at date: Date) -> String {
    "\(erase)section_end:\(Int(date.timeIntervalSince1970)):\(id)\r\(erase)"
  }
}
