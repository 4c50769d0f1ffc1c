import CoreMetrics

extension RunnerMetrics {
  /// One batched state request of a LAVA watcher (`jobs/?id__in=…`, all its pages).
  package func lavaWatcherBatch() {
    CoreMetrics.Counter(label: "lava_runner_lava_watcher_batches_total", factory: factory).increment()
  }

  /// One message from a LAVA event stream.
  package func lavaEventReceived() {
    CoreMetrics.Counter(label: "lava_runner_lava_events_received_total", factory: factory).increment()
  }

  /// A LAVA event stream connected (or lost): the gauge counts the streams up now.
  package func lavaEventStream(connected: Bool) {
    let count = connectedEventStreams.withLock { count in
      count = max(0, count + (connected ? 1 : -1))
      return count
    }
    CoreMetrics.Gauge(label: "lava_runner_lava_event_streams_connected", factory: factory).record(count)
  }
}
