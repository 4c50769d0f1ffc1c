/// A rate measured over a window cut into samples: the rate over the whole window (what the
/// table's ratio uses) and the lowest and highest rate of one sample, which say how much the
/// figure moved within the window.
struct Spread: Equatable {
  var mean: Double
  var low: Double
  var high: Double
  var samples: Int

  /// From readings of a cumulative counter (CPU seconds, requests) taken at `time` seconds;
  /// each rate is multiplied by `scale` (100 for % of a core). Needs two readings or more.
  init(readings: [(time: Double, value: Double)], scale: Double = 1) {
    precondition(readings.count >= 2, "a spread needs two readings")
    let rates = zip(readings, readings.dropFirst()).map { before, after in
      (after.value - before.value) / (after.time - before.time) * scale
    }
    mean = (readings.last!.value - readings[0].value) / (readings.last!.time - readings[0].time) * scale
    low = rates.min()!
    high = rates.max()!
    samples = rates.count
  }

  init(mean: Double, low: Double, high: Double, samples: Int) {
    (self.mean, self.low, self.high, self.samples) = (mean, low, high, samples)
  }
}
