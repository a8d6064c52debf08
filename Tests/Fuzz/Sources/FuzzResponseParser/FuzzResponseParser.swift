// Response parsing and chunk framing. Properties:
// - cut into three pieces anywhere, a response stream parses exactly as it does whole;
// - the delegate never sees a status outside 100-599 (such a line must fail, never be relayed);
// - each complete final response, written for the client as kgb writes it (HeadWriter.clientResponse, chunked with
//   the upstream's chunk boundaries, or Content-Length), parses again to the same status, end-to-end fields, body
//   and chunk sizes.
import FuzzSupport
import HTTP1

func fuzzResponseParser(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = FuzzInput(data, size)
    let cuts = [input.below(4096), input.below(4096)]
    let skipBodies = input.byte() & 1 == 1  // as for a HEAD request
    let stream = input.rest
    let verdict: (HTTPHead) -> HeadVerdict = { head in
        guard (100...599).contains(head.status) else { violated("no status outside 100-599 reaches the delegate", "\(head.status)") }
        return skipBodies ? .skipBody : .proceed
    }
    for response in messagesParsingAlikeSplit(.response, stream, cuts: cuts, verdict: verdict) where response.status >= 200 && !skipBodies { checkRelay(response) }
    return 0
}

private func checkRelay(_ response: ParsedMessage) {
    let head = response.head
    let (options, framing, body) = relayed(response)
    var out: [UInt8] = []
    HeadWriter.clientResponse(head, connectionOptions: options, framing: framing, close: false, clientIsHTTP10: false, into: &out)
    out += body
    let (again, result) = parse(.response, [out])
    guard result == .ok, again.count == 1, let relayed = again.first else {
        violated("the relayed response parses as one message", "\(result): \(String(decoding: out, as: UTF8.self))")
    }
    guard relayed.status == response.status, relayed.body == response.body else { violated("status and body relayed as received") }
    guard relayed.chunkSizes == response.chunkSizes.filter({ $0 > 0 }) + (response.chunked ? [0] : []) else {
        violated("the upstream's chunk boundaries are kept", "\(relayed.chunkSizes) vs \(response.chunkSizes)")
    }
    func role(_ field: [UInt8]) -> FieldRole { Array(field.prefix { $0 != 0 }).withUnsafeBytes { FieldRole.of($0) } }
    let expected = response.fields.indices.filter { index in
        ![.hopByHop, .contentLength].contains(role(response.fields[index])) && !options.names(field: index, of: head)
    }.map { response.fields[$0] }
    let kept = relayed.fields.filter { ![.hopByHop, .contentLength].contains(role($0)) }
    guard kept == expected else { violated("end-to-end fields relayed as sent, and nothing else") }
}
