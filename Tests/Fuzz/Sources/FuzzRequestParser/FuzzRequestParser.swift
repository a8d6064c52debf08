// Request parsing and head rewriting. Properties:
// - the input cut into three pieces anywhere parses exactly as it does whole (messages, bodies, outcome);
// - the first complete request, rewritten for the upstream (HeadWriter) and re-framed, parses again to the same
//   method, target, end-to-end fields (in order, byte for byte) and body; one Host, the upstream's; no hop-by-hop
//   field survives, and no field appears that the client did not send or kgb did not add (no injection).
import FuzzSupport
import HTTP1

func fuzzRequestParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let cuts = [input.below(4096), input.below(4096)]
    let message = input.rest
    let requests = messagesParsingAlikeSplit(.request, message, cuts: cuts)
    if let first = requests.first, first.method != "CONNECT" { checkRewrite(first) }
    return 0
}

private func checkRewrite(_ request: ParsedMessage) {
    let head = request.head
    let (options, framing, body) = relayed(request)
    var out: [UInt8] = []
    HeadWriter.upstreamRequest(head, target: head.target, connectionOptions: options, host: Array("up.example".utf8),
                               clientIP: Array("192.0.2.1".utf8), forwardedProto: "http", framing: framing, into: &out)
    out += body
    let (again, result) = parse(.request, [out])
    guard result == .ok, again.count == 1, let forwarded = again.first else {
        violated("the rewritten request parses as one message", "\(result), \(again.count) messages: \(String(decoding: out, as: UTF8.self))")
    }
    guard forwarded.method == request.method, forwarded.target == request.target else { violated("method and target kept") }
    guard forwarded.body == request.body else { violated("the body forwarded equals the body received") }

    let added: Set<String> = ["host", "x-forwarded-for", "x-forwarded-proto", "content-length", "transfer-encoding"]
    func name(_ field: [UInt8]) -> String { String(decoding: field.prefix { $0 != 0 }, as: UTF8.self).lowercased() }
    func role(_ field: [UInt8]) -> FieldRole { Array(field.prefix { $0 != 0 }).withUnsafeBytes { FieldRole.of($0) } }
    let expected = request.fields.indices.filter { index in
        role(request.fields[index]) == .other && !options.names(field: index, of: head)
    }.map { request.fields[$0] }
    let kept = forwarded.fields.filter { !added.contains(name($0)) }
    guard kept == expected else { violated("end-to-end fields forwarded as sent, and nothing else", "\(kept.map(name)) vs \(expected.map(name))") }
    let hosts = forwarded.fields.filter { name($0) == "host" }.map { $0.drop { $0 != 0 }.dropFirst() }
    guard hosts.count == 1, Array(hosts[0]) == Array("up.example".utf8) else { violated("one Host, the upstream's") }
    for field in forwarded.fields where name(field) != "transfer-encoding" && role(field) == .hopByHop {
        violated("no hop-by-hop field forwarded", name(field))
    }
}
