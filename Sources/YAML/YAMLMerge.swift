extension YAMLPair {
  /// `<<: *defaults`, YAML 1.1's merge key, which PyYAML (and so LAVA) honours.
  package var isMergeKey: Bool {
    guard let scalar = key.scalar, scalar.style == .plain, scalar.value == "<<" else { return false }
    return key.tag == nil || key.tag == "tag:yaml.org,2002:merge"
  }
}

package enum YAMLMerge {
  /// The pairs with every merge key replaced by the pairs it brings in, placed before the mapping's
  /// own pairs so that a last-wins lookup gives PyYAML's precedence: own keys, then the first merged
  /// mapping, then the next. Throws the value of a merge key that is not a mapping or a list of them.
  package static func apply(_ pairs: [YAMLPair]) throws(MergeValueError) -> [YAMLPair] {
    guard pairs.contains(where: \.isMergeKey) else { return pairs }
    var merged: [YAMLPair] = []
    var own: [YAMLPair] = []
    for pair in pairs {
      guard pair.isMergeKey else {
        own.append(pair)
        continue
      }
      let sources: [YAMLNode] = pair.value.pairs != nil ? [pair.value] : pair.value.items ?? [pair.value]
      for source in sources.reversed() {
        guard let sourcePairs = source.pairs else { throw MergeValueError(node: source) }
        merged += sourcePairs.map { YAMLPair(key: $0.key, value: $0.value, isMerged: true) }
      }
    }
    return merged + own
  }

  package struct MergeValueError: Error {
    package var node: YAMLNode
  }
}
