// An HTTP collector ("Dewey"): each batch is posted as NDJSON, gzip-compressed. 2xx acknowledges it; a connection
// failure, 5xx or 429 says "later" (with Retry-After when given); any other 4xx refuses the batch for good.
import TLS

public final class CollectorSink: RemoteSink {
    private let poster: HTTPPost
    private let path: String
    public let name: String

    public init(url: String, tls: TLSContext?, headers: [(name: String, value: String)]) throws(SinkError) {
        poster = try HTTPPost(url: url, tls: tls, headers: headers)
        path = poster.url.target
        name = LogSpec.withoutPassword(url)
    }

    public func deliver(_ records: [[UInt8]]) throws(DeliveryFailure) {
        var body: [UInt8] = []
        body.reserveCapacity(records.reduce(0) { $0 + $1.count + 1 })
        for record in records {
            body.append(contentsOf: record)
            body.append(0x0A)
        }
        let answer: HTTPAnswer
        do {
            answer = try poster.post(path: path, contentType: "application/x-ndjson", contentEncoding: "gzip",
                                     body: Gzip.compress(body))
        } catch {
            throw DeliveryFailure(.retry(afterSeconds: nil), error.description)
        }
        try Self.judge(answer, what: "collector \(name)")
    }

    /// What an answer means for the batch (shared with the OTLP sink).
    static func judge(_ answer: HTTPAnswer, what: String) throws(DeliveryFailure) {
        let detail = String(decoding: answer.body.prefix(200), as: UTF8.self).trimmingWhitespace
        let said = "\(what) answered \(answer.status)" + (detail.isEmpty ? "" : ": \(detail)")
        switch answer.status {
        case 200..<300: return
        case 429, 500..<600: throw DeliveryFailure(.retry(afterSeconds: answer.retryAfter), said)
        default: throw DeliveryFailure(.reject, said)
        }
    }

    public func close() {}
}
