import CCurl

/// The libcurl this build links, for the smoke test.
package enum LinkedCurl {
  package static var curlVersion: String { String(cString: curl_version()) }
}

/// libcurl's process-wide setup, which is not thread-safe and must run once before any handle.
package enum CurlGlobal {
  // A static let is initialized exactly once, thread-safely, on first use.
  private static let initResult: CURLcode = curl_global_init(Int(CURL_GLOBAL_ALL))

  package static func ensureInitialized() {
    _ = initResult
  }
}
