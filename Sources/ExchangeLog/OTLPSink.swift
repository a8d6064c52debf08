// OpenTelemetry over OTLP/HTTP: each batch becomes one ExportTraceServiceRequest (protobuf, one span per exchange,
// see OTLPTraces) posted to `/v1/traces`. The same answers mean the same as for a collector: 2xx acknowledged,
// 429/5xx/connection failures retried, any other 4xx dead-lettered.
import Glibc
import TLS

public final class OTLPSink: RemoteSink {
    private let poster: HTTPPost
    private let includeContent: Bool
    private let instance: String
    private let serviceVersion: String?
    public let name: String

    /// `url`: `otlp+http[s]://HOST[:PORT]` (a path, if any, replaces `/v1/traces`).
    public init(url: String, tls: TLSContext?, headers: [(name: String, value: String)], includeContent: Bool,
                serviceVersion: String? = nil) throws(SinkError) {
        self.serviceVersion = serviceVersion
        let target = String(url.dropFirst("otlp+".count))
        poster = try HTTPPost(url: target, tls: tls, headers: headers)
        self.includeContent = includeContent
        instance = ProcessEnvironment.hostName + ":" + String(getpid())
        name = LogSpec.withoutPassword(url)
    }

    private var path: String {
        let given = poster.url.path
        return given == "/" ? "/v1/traces" : given
    }

    public func deliver(_ records: [[UInt8]]) throws(DeliveryFailure) {
        let body = OTLPTraces.exportRequest(records: records, includeContent: includeContent, serviceName: "kgb",
                                            instance: instance, serviceVersion: serviceVersion)
        guard !body.isEmpty else { return }  // nothing in the batch was a record (cannot happen with kgb's own)
        let answer: HTTPAnswer
        do {
            answer = try poster.post(path: path, contentType: "application/x-protobuf", contentEncoding: nil, body: body)
        } catch {
            throw DeliveryFailure(.retry(afterSeconds: nil), error.description)
        }
        try CollectorSink.judge(answer, what: "OTLP endpoint \(name)")
    }

    public func close() {}
}
