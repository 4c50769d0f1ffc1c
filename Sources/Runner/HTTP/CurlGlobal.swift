import CCurl
import CYAML

enum LinkedLibraries {
  static var curlVersion: String { String(cString: curl_version()) }
  static var yamlVersion: String { String(cString: yaml_get_version_string()) }
}
