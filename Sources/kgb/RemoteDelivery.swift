// The remote sinks of one kgb process: the spool the logger threads write to (one more sink for them), and a
// delivery thread per remote destination reading from it. Built from the `--log` destinations that leave the
// machine; nothing of this exists when every destination is local.
import Dispatch
import ExchangeLog
import TLS

final class RemoteDelivery: @unchecked Sendable {
    struct Settings {
        var spoolDirectory: String
        var spoolMaxBytes: Int
        var fsync: SpoolFsync
        var batch: DeliveryWorker.Settings
        var headers: [(name: String, value: String)]
        var otlpContent: Bool
        var tls: TLSContext?
    }

    let spool: Spool
    let workers: [DeliveryWorker]

    init(specs: [LogSpec], settings: Settings, warn: @escaping @Sendable (String) -> Void) throws(SinkError) {
        var sinks: [RemoteSink] = []
        for spec in specs {
            switch spec {
            case .collector(let url):
                sinks.append(try CollectorSink(url: url, tls: settings.tls, headers: settings.headers))
            case .otlp(let url):
                sinks.append(try OTLPSink(url: url, tls: settings.tls, headers: settings.headers,
                                          includeContent: settings.otlpContent, serviceVersion: KGBVersion.current))
            case .postgres(let url):
                sinks.append(try PostgresSink(url: url))
            case .jsonLines, .standardOutput, .sqlite, .none:
                continue
            }
        }
        let spool = try Spool(directory: settings.spoolDirectory, maxBytes: settings.spoolMaxBytes, fsync: settings.fsync,
                              sinkIDs: sinks.map { Spool.sinkID(for: $0.name) }, warn: warn)
        self.spool = spool
        workers = sinks.enumerated().map { index, sink in
            DeliveryWorker(spool: spool, index: index, sink: sink, settings: settings.batch, warn: warn)
        }
    }

    func start() { for worker in workers { worker.start() } }

    /// After the loggers have written their last records: each sink gets up to `seconds` to take what is spooled;
    /// the rest waits in the spool for the next start.
    func stop(within seconds: Double) {
        let group = DispatchGroup()
        for worker in workers {
            group.enter()
            NamedThread.start(name: "kgb-delivery-stop") { worker.stop(within: seconds); group.leave() }
        }
        _ = group.wait(timeout: .now() + seconds + 2)
        spool.close()
    }
}
