import CCurl
import CYAML

enum LinkedLibraries {
  static var curlVersion: String { String(cString: curl_version()) }
  static var yamlVersion: String { String(cString: yaml_get_version_string()) }
}

/// libcurl's process-wide setup, which is not thread-safe and must run once before any handle.
enum CurlGlobal {
  // A static let is initialized exactly once, thread-safely, on first use.
  private static let initResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))

  static func ensureInitialized() {
    _ = initResult
  }
}
