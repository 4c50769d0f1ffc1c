import Foundation

/// A strict `multipart/form-data` reader (RFC 7578): CRLF line ends, every part framed by the
/// boundary, a `Content-Disposition: form-data; name=…` on each part, a closing delimiter.
struct MultipartForm {
  struct Part {
    var name: String
    var filename: String?
    var contentType: String?
    var data: Data
  }

  enum Failure: Error, CustomStringConvertible {
    case notMultipart(String?)
    case malformed(String)

    var description: String {
      switch self {
      case .notMultipart(let type):
        "Content-Type is \(type.map { "\"\($0)\"" } ?? "missing"), expected multipart/form-data; boundary=…"
      case .malformed(let why): "malformed multipart body: \(why)"
      }
    }
  }

  var parts: [Part]

  static func boundary(fromContentType contentType: String?) throws(Failure) -> String {
    guard let contentType else { throw .notMultipart(nil) }
    let fields = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
    guard fields.first?.lowercased() == "multipart/form-data" else { throw .notMultipart(contentType) }
    for field in fields.dropFirst() where field.lowercased().hasPrefix("boundary=") {
      var value = String(field.dropFirst("boundary=".count))
      if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
        value = String(value.dropFirst().dropLast())
      }
      guard !value.isEmpty, value.count <= 70 else {
        throw .malformed("boundary \"\(value)\" is empty or too long")
      }
      return value
    }
    throw .notMultipart(contentType)
  }

  init(body: Data, boundary: String) throws(Failure) {
    let crlf = Data("\r\n".utf8)
    let delimiter = Data("--\(boundary)".utf8)
    let separator = crlf + delimiter
    guard body.starts(with: delimiter + crlf) else {
      throw .malformed("the body does not start with --boundary CRLF")
    }
    var parts: [Part] = []
    var cursor = body.startIndex + delimiter.count + crlf.count
    while true {
      guard let next = body.range(of: separator, in: cursor..<body.endIndex) else {
        throw .malformed("a part is not closed by CRLF --boundary")
      }
      parts.append(try Self.part(body[cursor..<next.lowerBound]))
      let after = next.upperBound
      let rest = body[after...]
      if rest.starts(with: Data("--".utf8)) {
        let tail = rest.dropFirst(2)
        guard tail.isEmpty || tail.elementsEqual(crlf) else {
          throw .malformed("\(tail.count) unexpected bytes after the closing delimiter")
        }
        break
      }
      guard rest.starts(with: crlf) else { throw .malformed("a delimiter is not followed by CRLF or --") }
      cursor = after + crlf.count
    }
    self.parts = parts
  }

  private static func part(_ raw: Data) throws(Failure) -> Part {
    guard let headerEnd = raw.range(of: Data("\r\n\r\n".utf8)) else {
      throw .malformed("a part has no blank line after its headers")
    }
    let headerText = String(decoding: raw[raw.startIndex..<headerEnd.lowerBound], as: UTF8.self)
    var name: String?
    var filename: String?
    var contentType: String?
    for line in headerText.components(separatedBy: "\r\n") {
      guard let colon = line.firstIndex(of: ":") else { throw .malformed("part header line \"\(line)\"") }
      let key = line[..<colon].lowercased()
      let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      if key == "content-disposition" {
        let fields = value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard fields.first?.lowercased() == "form-data" else {
          throw .malformed("Content-Disposition \"\(value)\" is not form-data")
        }
        for field in fields.dropFirst() {
          let pair = field.split(separator: "=", maxSplits: 1).map(String.init)
          guard pair.count == 2 else { continue }
          let unquoted = pair[1].hasPrefix("\"") ? String(pair[1].dropFirst().dropLast()) : pair[1]
          switch pair[0].lowercased() {
          case "name": name = unquoted
          case "filename": filename = unquoted
          default: break
          }
        }
      } else if key == "content-type" {
        contentType = value
      }
    }
    guard let name else { throw .malformed("a part has no Content-Disposition name") }
    return Part(
      name: name, filename: filename, contentType: contentType, data: Data(raw[headerEnd.upperBound...]))
  }
}
