import CYAML

/// The libyaml this build links, for the smoke test.
package enum LinkedYAML {
  package static var version: String { String(cString: yaml_get_version_string()) }
}
