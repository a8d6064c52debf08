// The record's bytes, held exactly: exchanges fed to the assembler as the loop writes them into the ring, and each
// finished line compared with the line the encoder wrote before it was rewritten for speed (README "The exchange
// log" is the contract; a reader of the JSONL file sees these bytes). A change here changes every stored record.
@testable import ExchangeLog
import LogRing
import Testing
import CZlib

/// One exchange as ring records: the start (request head), optional response head, body fragments and the end.
struct RingExchange {
    var id: UInt64 = 1
    var wallMicros: UInt64 = 1_764_000_000_123_456
    var client = "127.0.0.1:53422"
    var upstream = "http://127.0.0.1:9100"
    var requestLine: (method: String, target: String)? = ("POST", "/v1/messages")
    var requestFields: [(String, [UInt8])] = [("Host", Array("kgb".utf8)), ("Content-Type", Array("application/json".utf8))]
    var requestBody: [[UInt8]] = []
    var status: Int? = 200
    var responseFields: [(String, [UInt8])] = [("Content-Type", Array("application/json".utf8))]
    var responseBody: [[UInt8]] = []
    var end: [(LogPayload.EndKey, String)] = [(.outcome, "complete"), (.connectNanos, "210000"), (.headNanos, "1900000"),
                                              (.firstByteNanos, "2000000"), (.totalNanos, "41700000")]

    func records() -> [(LogRecordKind, [UInt8])] {
        var out: [(LogRecordKind, [UInt8])] = []
        var start: [UInt8] = []
        LogPayload.appendClocks(wallMicros: wallMicros, monotonicNanos: 1_000_000, into: &start)
        Array(client.utf8).withUnsafeBytes { LogPayload.appendLine($0, into: &start) }
        Array(upstream.utf8).withUnsafeBytes { LogPayload.appendLine($0, into: &start) }
        if let (method, target) = requestLine {
            Array(method.utf8).withUnsafeBytes { m in
                Array(target.utf8).withUnsafeBytes { t in
                    LogPayload.appendRequestLine(method: m, target: t, versionMajor: 1, versionMinor: 1, into: &start)
                }
            }
        } else {
            start += Array(" / HTTP/1.1\n".utf8)
        }
        for (name, value) in requestFields {
            Array(name.utf8).withUnsafeBytes { n in value.withUnsafeBytes { LogPayload.appendField(name: n, value: $0, into: &start) } }
        }
        out.append((.start, start))
        for (index, piece) in requestBody.enumerated() {
            out.append((.requestBody, withUnsafeBytes(of: LogPayload.bodyStamp(1_000_100 + UInt64(index))) { Array($0) } + piece))
        }
        if let status {
            var head: [UInt8] = []
            Array("OK".utf8).withUnsafeBytes { LogPayload.appendStatusLine(status, reason: $0, into: &head) }
            for (name, value) in responseFields {
                Array(name.utf8).withUnsafeBytes { n in value.withUnsafeBytes { LogPayload.appendField(name: n, value: $0, into: &head) } }
            }
            out.append((.responseHead, head))
        }
        for (index, piece) in responseBody.enumerated() {
            out.append((.responseBody, withUnsafeBytes(of: LogPayload.bodyStamp(2_000_000 + 1000 * UInt64(index))) { Array($0) } + piece))
        }
        var endPayload: [UInt8] = []
        var figures = LogPayload.EndFigures()
        let texts: [LogPayload.EndKey] = [.outcome, .error, .upstream, .attempt]
        for (key, value) in end where !texts.contains(key) { figures.set(key, UInt64(value)!) }
        figures.append(into: &endPayload)
        for (key, value) in end where texts.contains(key) { LogPayload.appendEntry(key, value, into: &endPayload) }
        out.append((.end, endPayload))
        return out
    }
}

private let prices = PriceTable(["claude-sonnet-4-5": ModelPrice(input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.30),
                                 "gpt-4o": ModelPrice(input: 2.50, output: 10, cacheWrite: 2.50, cacheRead: 1.25)])

private func assembler(bodyMax: Int = 1 << 20, files: BodyFiles? = nil) -> RecordAssembler {
    let assembler = RecordAssembler(bodyMax: bodyMax, fingerprint: Fingerprint(key: Array("golden".utf8)), instance: 7,
                                    prices: prices, bodyFiles: files)
    assembler.agentNames = ["build-bot"]
    return assembler
}

/// The lines the assembler writes for `exchanges`, fed in order (records of different exchanges may interleave when
/// `interleaved`).
/// `parking`: every open exchange is parked after every record (as if each had been open for long).
func lines(_ exchanges: [RingExchange], bodyMax: Int = 1 << 20, files: BodyFiles? = nil, parking: Bool = false) -> [String] {
    let assembler = assembler(bodyMax: bodyMax, files: files)
    assembler.parkAfter = 0
    var out: [String] = []
    for exchange in exchanges {
        for (kind, payload) in exchange.records() {
            if let line = payload.withUnsafeBytes({ assembler.apply(LogRecord(kind: kind, exchange: exchange.id, payload: $0)) }) {
                out.append(String(decoding: line, as: UTF8.self))
            }
            if parking { assembler.parkLongOpen(now: 1 << 62) }
        }
    }
    return out
}

private func gzip(_ text: String) -> [UInt8] {
    var stream = z_stream()
    deflateInit2_(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
    var input = Array(text.utf8)
    var output = [UInt8](repeating: 0, count: input.count + 256)
    let produced = input.withUnsafeMutableBufferPointer { inBuffer in
        output.withUnsafeMutableBufferPointer { outBuffer -> Int in
            stream.next_in = inBuffer.baseAddress
            stream.avail_in = UInt32(inBuffer.count)
            stream.next_out = outBuffer.baseAddress
            stream.avail_out = UInt32(outBuffer.count)
            deflate(&stream, Z_FINISH)
            return outBuffer.count - Int(stream.avail_out)
        }
    }
    deflateEnd(&stream)
    return Array(output.prefix(produced))
}

private let goldenAnthropicJSON = #"{"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello \u2028 \"there\"\n"}],"stop_reason":"end_turn","usage":{"input_tokens":472,"cache_creation_input_tokens":1200,"cache_read_input_tokens":8000,"output_tokens":89}}"#

private let goldenAnthropicStream = """
    event: message_start
    data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":14,"output_tokens":1}}}

    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

    event: ping
    data: {"type": "ping"}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word0 "}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"wörd1 \\u00e9\\n"}}

    event: content_block_delta
    data: {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "spaced"}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}

    event: message_delta
    data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":20}}

    event: message_stop
    data: {"type":"message_stop"}


    """

private let goldenOpenAIStream = """
    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}

    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}

    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"a\\":1}"}}]},"finish_reason":null}]}

    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}

    data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-2024-08-06","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":7,"total_tokens":1207,"prompt_tokens_details":{"cached_tokens":1024}}}

    data: [DONE]


    """

/// Splits `text` into pieces of `size` bytes (a stream arrives in whatever pieces TCP made).
private func pieces(_ text: String, _ size: Int) -> [[UInt8]] {
    let bytes = Array(text.utf8)
    return stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min(bytes.count, $0 + size)]) }
}

func goldenExchanges() -> [RingExchange] {
    var exchanges: [RingExchange] = []

    // 1. A small JSON exchange, secrets in both credential headers, a repeated header, mixed-case names, a session.
    var json = RingExchange()
    json.requestFields = [("Host", Array("kgb".utf8)), ("X-Api-Key", Array("sk-ant-secret".utf8)),
                          ("Authorization", Array("Bearer  sk-other".utf8)), ("Accept", Array("a/b".utf8)),
                          ("user-agent", Array("claude-cli/2.0.14".utf8)), ("ACCEPT", Array("c/d".utf8)),
                          ("X-Claude-Code-Session-Id", Array("9d1c0f2e".utf8)), ("Cookie", Array("a=1".utf8)),
                          ("X-Quote", Array(#"say "hi"\ now"#.utf8))]
    json.requestBody = [Array(#"{"model":"claude-sonnet-4-5","max_tokens":20,"#.utf8), Array(#""messages":[]}"#.utf8)]
    json.responseFields = [("Content-Type", Array("application/json".utf8)), ("Set-Cookie", Array("s=1".utf8)),
                           ("Set-Cookie", Array("t=2".utf8)), ("X-Request-Id", Array("req_1".utf8))]
    json.responseBody = [Array(goldenAnthropicJSON.utf8)]
    json.end = [(.outcome, "complete"), (.agent, "0"), (.connectNanos, "210000"), (.tlsNanos, "3000000"), (.tlsResumed, "1"),
                (.headNanos, "1900000"), (.firstByteNanos, "2000000"), (.totalNanos, "41700000"), (.requestBytes, "62"),
                (.responseBytes, "\(goldenAnthropicJSON.utf8.count)")]
    exchanges.append(json)

    // 2. An Anthropic stream in 7-byte pieces, gzip-free, with a header value that is not UTF-8 (obs-text).
    var sse = RingExchange()
    sse.id = 2
    sse.wallMicros = 1_764_000_001_000_001
    sse.requestFields = [("Host", Array("kgb".utf8)), ("X-Odd", [0x61, 0xE9, 0x62]), ("X-Session-Id", Array("s-2".utf8))]
    sse.responseFields = [("content-type", Array("text/event-stream; charset=utf-8".utf8)), ("Cache-Control", Array("no-cache".utf8))]
    sse.responseBody = pieces(goldenAnthropicStream, 7)
    exchanges.append(sse)

    // 3. An OpenAI stream, gzip-encoded, fed in two pieces.
    var openAI = RingExchange()
    openAI.id = 3
    openAI.requestLine = ("POST", "/v1/chat/completions?x=1")
    openAI.responseFields = [("Content-Type", Array("text/event-stream".utf8)), ("Content-Encoding", Array("gzip".utf8))]
    let zipped = gzip(goldenOpenAIStream)
    openAI.responseBody = [Array(zipped.prefix(zipped.count / 2)), Array(zipped.dropFirst(zipped.count / 2))]
    exchanges.append(openAI)

    // 4. A binary answer (base64), cut by the body limit, with control bytes in the request body.
    var binary = RingExchange()
    binary.id = 4
    binary.requestBody = [[0x7B, 0x01, 0x1F, 0x7F, 0x22, 0x5C, 0x08, 0x0C, 0x0A, 0x0D, 0x09, 0x7D]]
    binary.responseFields = [("Content-Type", Array("application/octet-stream".utf8))]
    binary.responseBody = [(0..<500).map { UInt8($0 % 251) }]
    exchanges.append(binary)

    // 5. Failover: two attempts before the answer, an error, dropped bytes.
    var failover = RingExchange()
    failover.id = 5
    failover.status = 529
    failover.responseBody = [Array(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.utf8)]
    failover.end = [(.outcome, "upstream_error"), (.error, "upstream answered 529 \"overloaded\""),
                    (.upstream, "http://127.0.0.1:9200"),
                    (.attempt, "0\t1500000\thttp://127.0.0.1:9100\tconnection refused"),
                    (.attempt, "429\t2500000\thttp://127.0.0.1:9150\t"),
                    (.connectNanos, "0"), (.headNanos, "5000000"), (.totalNanos, "9000000"), (.droppedBytes, "17")]
    exchanges.append(failover)

    // 6. Refused before routing: no method read, no upstream, no answer from upstream.
    var rejected = RingExchange()
    rejected.id = 6
    rejected.upstream = ""
    rejected.requestLine = nil
    rejected.requestFields = []
    rejected.status = nil
    rejected.end = [(.outcome, "rejected"), (.error, "bad request: \u{2028} and \t tab"), (.totalNanos, "0")]
    exchanges.append(rejected)

    // 7. An OpenAI JSON answer with prompt caching, a non-JSON text answer after it on the same assembler.
    var chat = RingExchange()
    chat.id = 7
    chat.responseBody = [Array(#"{"object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1200,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":1024}}}"#.utf8)]
    exchanges.append(chat)
    var text = RingExchange()
    text.id = 8
    text.responseFields = [("Content-Type", Array("text/plain".utf8)), ("X-Empty", [])]
    text.responseBody = [Array("line one\nline two \u{1F600}".utf8)]
    exchanges.append(text)

    // 9. Text cut by the body limit in the middle of a character: no longer valid UTF-8, so base64.
    var cut = RingExchange()
    cut.id = 9
    cut.responseFields = [("Content-Type", Array("text/plain".utf8))]
    cut.responseBody = [Array(("a" + String(repeating: "é", count: 300)).utf8)]
    exchanges.append(cut)
    return exchanges
}

@Test func recordsAreByteForByteWhatTheyWere() throws {
    let got = lines(goldenExchanges(), bodyMax: 400)
    #expect(got.count == golden.count)
    for (index, line) in got.enumerated() where index < golden.count {
        #expect(line == golden[index] + "\n", "record \(index + 1):\n\(line)")
    }
}

private let golden: [String] = [
    ##"{"id":"06445941642240000700000001","started_at":"2025-11-24T16:00:00.123456Z","client":"127.0.0.1:53422","method":"POST","path":"/v1/messages","upstream":"http://127.0.0.1:9100","request":{"headers":{"host":"kgb","x-api-key":"sha256:90fb19b1d1fe","authorization":"sha256:8de8f80fd7a6","accept":"a/b, c/d","user-agent":"claude-cli/2.0.14","x-claude-code-session-id":"9d1c0f2e","cookie":"sha256:d2dea5205e13","x-quote":"say \"hi\"\\ now"},"body":"{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":20,\"messages\":[]}","body_bytes":62,"truncated":false},"response":{"status":200,"headers":{"content-type":"application/json","set-cookie":"sha256:3871f54b6525, sha256:5e1babce5e58","x-request-id":"req_1"},"body":"{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5-20250929\",\"content\":[{\"type\":\"text\",\"text\":\"Hello \\u2028 \\\"there\\\"\\n\"}],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":472,\"cache_creation_input_tokens\":1200,\"cache_read_input_tokens\":8000,\"output_tokens\":89}}","body_bytes":289,"truncated":false,"content_encoding":null},"timing":{"upstream_connect_ms":0.21,"upstream_tls_ms":3.0,"ttfb_ms":1.9,"first_token_ms":1.0,"total_ms":41.7,"upstream_tls_resumed":true},"agent":{"name":"build-bot","key":"sha256:90fb19b1d1fe","session":"9d1c0f2e","user_agent":"claude-cli/2.0.14"},"attempts":[{"upstream":"http://127.0.0.1:9100","status":200,"error":null,"ms":41.7}],"outcome":"complete","error":null,"usage":{"model":"claude-sonnet-4-5-20250929","input_tokens":472,"output_tokens":89,"cache_read_input_tokens":8000,"cache_creation_input_tokens":1200,"stop_reason":"end_turn"},"cost_usd":0.009651}"##,
    ##"{"id":"06445941718241000700000002","started_at":"2025-11-24T16:00:01.000001Z","client":"127.0.0.1:53422","method":"POST","path":"/v1/messages","upstream":"http://127.0.0.1:9100","request":{"headers":{"host":"kgb","x-odd":"a�b","x-session-id":"s-2"},"body":"","body_bytes":0,"truncated":false},"response":{"status":200,"headers":{"content-type":"text/event-stream; charset=utf-8","cache-control":"no-cache"},"body":"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":14,\"output_tokens\":1}}}\n\nevent: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\nevent: ping\ndata: {\"type\": \"ping\"}\n\nevent: content_block_delta\n","body_bytes":1015,"truncated":true,"content_encoding":null},"timing":{"upstream_connect_ms":0.21,"upstream_tls_ms":null,"ttfb_ms":1.9,"first_token_ms":1.07,"total_ms":41.7,"upstream_tls_resumed":null},"agent":{"name":null,"key":null,"session":"s-2","user_agent":null},"attempts":[{"upstream":"http://127.0.0.1:9100","status":200,"error":null,"ms":41.7}],"outcome":"complete","error":null,"usage":{"model":"claude-sonnet-4-5","input_tokens":14,"output_tokens":20,"cache_read_input_tokens":null,"cache_creation_input_tokens":null,"stop_reason":"end_turn"},"cost_usd":0.000342,"sse":{"events":9,"text":"word0 wörd1 é\nspaced"}}"##,
    ##"{"id":"06445941642240000700000003","started_at":"2025-11-24T16:00:00.123456Z","client":"127.0.0.1:53422","method":"POST","path":"/v1/chat/completions?x=1","upstream":"http://127.0.0.1:9100","request":{"headers":{"host":"kgb","content-type":"application/json"},"body":"","body_bytes":0,"truncated":false},"response":{"status":200,"headers":{"content-type":"text/event-stream","content-encoding":"gzip"},"body":"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\ndata: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"logprobs\":null,\"finish_reason\":null}]}\n\ndata: {\"id\":\"c1\",\"object\":\"","body_bytes":297,"truncated":true,"content_encoding":"gzip"},"timing":{"upstream_connect_ms":0.21,"upstream_tls_ms":null,"ttfb_ms":1.9,"first_token_ms":1.001,"total_ms":41.7,"upstream_tls_resumed":null},"agent":{"name":null,"key":null,"session":null,"user_agent":null},"attempts":[{"upstream":"http://127.0.0.1:9100","status":200,"error":null,"ms":41.7}],"outcome":"complete","error":null,"usage":{"model":"gpt-4o-2024-08-06","input_tokens":1200,"output_tokens":7,"cache_read_input_tokens":1024,"cache_creation_input_tokens":null,"stop_reason":"stop"},"cost_usd":0.00179,"sse":{"events":6,"text":"Hi{\"a\":1}"}}"##,
    ##"{"id":"06445941642240000700000004","started_at":"2025-11-24T16:00:00.123456Z","client":"127.0.0.1:53422","method":"POST","path":"/v1/messages","upstream":"http://127.0.0.1:9100","request":{"headers":{"host":"kgb","content-type":"application/json"},"body":"{\u0001\u001f\##u{7F}\"\\\b\f\n\r\t}","body_bytes":12,"truncated":false},"response":{"status":200,"headers":{"content-type":"application/octet-stream"},"body":{"base64":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+foAAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+f4CBgoOEhYaHiImKi4yNjo+QkZKTlA=="},"body_bytes":500,"truncated":true,"content_encoding":null},"timing":{"upstream_connect_ms":0.21,"upstream_tls_ms":null,"ttfb_ms":1.9,"first_token_ms":1.0,"total_ms":41.7,"upstream_tls_resumed":null},"agent":{"name":null,"key":null,"session":null,"user_agent":null},"attempts":[{"upstream":"http://127.0.0.1:9100","status":200,"error":null,"ms":41.7}],"outcome":"complete","error":null,"cost_usd":null}"##,
    ##"{"id":"06445941642240000700000005","started_at":"2025-11-24T16:00:00.123456Z","client":"127.0.0.1:53422","method":"POST","path":"/v1/messages","upstream":"http://127.0.0.1:9200","request":{"headers":{"host":"kgb","content-type":"application/json"},"body":"","body_bytes":0,"truncated":false},"response":{"status":529,"headers":{"content-type":"application/json"},"body":"{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}","body_bytes":75,"truncated":true,"content_encoding":null},"timing":{"upstream_connect_ms":null,"upstream_tls_ms":null,"ttfb_ms":5.0,"first_token_ms":1.0,"total_ms":9.0,"upstream_tls_resumed":null},"agent":{"name":null,"key":null,"session":null,"user_agent":null},"attempts":[{"upstream":"http://127.0.0.1:9100","status":null,"error":"connection refused","ms":1.5},{"upstream":"http://127.0.0.1:9150","status":429,"error":null,"ms":2.5},{"upstream":"http://127.0.0.1:9200","status":529,"error":"upstream answered 529 \"overloaded\"","ms":5.0}],"outcome":"upstream_error","error":"upstream answered 529 \"overloaded\"","cost_usd":null}"##,
    ##"{"id":"06445941642240000700000006","started_at":"2025-11-24T16:00:00.123456Z","client":"127.0.0.1:53422","method":null,"path":"/","upstream":"","request":{"headers":{},"body":"","body_bytes":0,"truncated":false},"response":null,"timing":{"upstream_connect_ms":null,"upstream_tls_ms":null,"ttfb_ms":null,"first_token_ms":null,"total_ms":null,"upstream_tls_resumed":null},"agent":{"name":null,"key":null,"session":null,"user_agent":null},"attempts":[],"outcome":"rejected","error":"bad request: \u2028 and \t tab","cost_usd":null}"##,
    ##"{"id":"06445941642240000700000007","started_at":"2025-11-24T16:00:00.123456Z","client":"127.0.0.1:53422","method":"POST","path":"/v1/messages","upstream":"http://127.0.0.1:9100","request":{"headers":{"host":"kgb","content-type":"application/json"},"body":"","body_bytes":0,"truncated":false},"response":{"status":200,"headers":{"content-type":"application/json"},"body":"{\"object\":\"chat.completion\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"message\":{\"content\":\"hi\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1200,\"completion_tokens\":7,\"prompt_tokens_details\":{\"cached_tokens\":1024}}}","body_bytes":230,"truncated":false,"content_encoding":null},"timing":{"upstream_connect_ms":0.21,"upstream_tls_ms":null,"ttfb_ms":1.9,"first_token_ms":1.0,"total_ms":41.7,"upstream_tls_resumed":null},"agent":{"name":null,"key":null,"session":null,"user_agent":null},"attempts":[{"upstream":"http://127.0.0.1:9100","status":200,"error":null,"ms":41.7}],"outcome":"complete","error":null,"usage":{"model":"gpt-4o-2024-08-06","input_tokens":1200,"output_tokens":7,"cache_read_input_tokens":1024,"cache_creation_input_tokens":null,"stop_reason":"stop"},"cost_usd":0.00179}"##,
    ##"{"id":"06445941642240000700000008","started_at":"2025-11-24T16:00:00.123456Z","client":"127.0.0.1:53422","method":"POST","path":"/v1/messages","upstream":"http://127.0.0.1:9100","request":{"headers":{"host":"kgb","content-type":"application/json"},"body":"","body_bytes":0,"truncated":false},"response":{"status":200,"headers":{"content-type":"text/plain","x-empty":""},"body":"line one\nline two 😀","body_bytes":22,"truncated":false,"content_encoding":null},"timing":{"upstream_connect_ms":0.21,"upstream_tls_ms":null,"ttfb_ms":1.9,"first_token_ms":1.0,"total_ms":41.7,"upstream_tls_resumed":null},"agent":{"name":null,"key":null,"session":null,"user_agent":null},"attempts":[{"upstream":"http://127.0.0.1:9100","status":200,"error":null,"ms":41.7}],"outcome":"complete","error":null,"cost_usd":null}"##,
    ##"{"id":"06445941642240000700000009","started_at":"2025-11-24T16:00:00.123456Z","client":"127.0.0.1:53422","method":"POST","path":"/v1/messages","upstream":"http://127.0.0.1:9100","request":{"headers":{"host":"kgb","content-type":"application/json"},"body":"","body_bytes":0,"truncated":false},"response":{"status":200,"headers":{"content-type":"text/plain"},"body":{"base64":"YcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpww=="},"body_bytes":601,"truncated":true,"content_encoding":null},"timing":{"upstream_connect_ms":0.21,"upstream_tls_ms":null,"ttfb_ms":1.9,"first_token_ms":1.0,"total_ms":41.7,"upstream_tls_resumed":null},"agent":{"name":null,"key":null,"session":null,"user_agent":null},"attempts":[{"upstream":"http://127.0.0.1:9100","status":200,"error":null,"ms":41.7}],"outcome":"complete","error":null,"cost_usd":null}"##,
]
