// HeadFields reads a head payload's fields in one pass and tags them; the record's header objects are written from
// it. Held here: the fields found (lines without a colon, a last line without its newline, one space dropped), the
// roles in any case, repeats told apart past the first eight bytes, and whole header objects against a plain
// reference on random heads.
@testable import ExchangeLog
import LogRing
import Testing

private func read(_ text: String, skipping: Int = 0) -> (HeadFields, [UInt8]) {
    let bytes = Array(text.utf8)
    var fields = HeadFields()
    bytes.withUnsafeBytes { fields.read($0, at: 0, skipping: skipping) }
    return (fields, bytes)
}

private func pairs(_ fields: HeadFields, _ bytes: [UInt8]) -> [String] {
    (0..<fields.count).map { index in
        let field = fields[index]
        return String(decoding: bytes[field.name], as: UTF8.self) + "=" + String(decoding: bytes[field.value], as: UTF8.self)
    }
}

@Test func fieldsAreTheLinesWithAColon() {
    let (fields, bytes) = read("HTTP/1.1 200 OK\nA: 1\nno colon here\nB:2\nC:  3\nEmpty:\nLast: x", skipping: 1)
    #expect(pairs(fields, bytes) == ["A=1", "B=2", "C= 3", "Empty=", "Last=x"])
    #expect(!fields.hasRepeats)
    let (none, _) = read("only a status line\n", skipping: 1)
    #expect(none.count == 0)
    let (skippedAll, _) = read("a\nb", skipping: 3)
    #expect(skippedAll.count == 0)
}

@Test func rolesAreFoundInAnyCase() {
    let (fields, _) = read("X-API-KEY: a\nAuthorization: b\nproxy-AUTHORIZATION: c\nCookie: d\nSET-COOKIE: e\n"
                           + "User-Agent: f\nContent-Type: g\ncontent-ENCODING: h\nX-Api-Keys: i\nCookies: j\nHost: k\n")
    let roles = (0..<fields.count).map { fields[$0].role }
    #expect(roles == [.apiKey, .authorization, .proxyAuthorization, .cookie, .setCookie, .userAgent, .contentType,
                      .contentEncoding, .plain, .plain, .plain])
    #expect(roles.filter(\.isSecret).count == 5)
}

@Test func repeatsAreToldApartPastTheFirstEightBytes() {
    #expect(!read("X-Request-Id: 1\nX-Request-Ix: 2\nX-Request: 3\nx-request-i: 4\n").0.hasRepeats)
    #expect(read("X-Request-Id: 1\nx-request-ID: 2\n").0.hasRepeats)
    #expect(read("a: 1\nA: 2\n").0.hasRepeats)
}

/// The header object as the record contract says it: lower-case names in first-seen order, a repeated name's values
/// joined with ", ", secrets as their fingerprints; written with the reference writer.
private func referenceHeaders(_ fields: [(String, [UInt8])], _ fingerprint: Fingerprint) -> String {
    var order: [String] = []
    var values: [String: [String]] = [:]
    for (name, value) in fields {
        let lower = name.lowercased()
        if values[lower] == nil { order.append(lower) }
        let text = Fingerprint.isSecret(headerName: lower) ? fingerprint.of(Array(String(decoding: value, as: UTF8.self).utf8))
            : String(decoding: value, as: UTF8.self)
        values[lower, default: []].append(text)
    }
    var writer = JSONWriter()
    writer.beginObject()
    for name in order {
        writer.key(name)
        writer.string(values[name]!.joined(separator: ", "))
    }
    writer.endObject()
    return String(decoding: writer.bytes, as: UTF8.self)
}

@Test func headerObjectsMatchTheReferenceOnRandomHeads() {
    let names = ["Host", "host", "X-Request-Id", "x-request-ID", "X-Request-Ix", "X-Api-Key", "Authorization",
                 "Set-Cookie", "set-cookie", "Cookie", "Content-Type", "A", "a", "User-Agent", "Accept-Encoding",
                 "X-Very-Long-Header-Name-Past-Sixteen", "x-very-long-header-name-past-sixteen"]
    let values: [[UInt8]] = [Array("v".utf8), [], Array("application/json".utf8), Array("say \"hi\"\\ now".utf8),
                             Array("Bearer sk-1".utf8), Array("é ü".utf8), [0x41, 0xFF, 0x42], Array(repeating: 0x7A, count: 40)]
    let fingerprint = Fingerprint(key: Array("golden".utf8))
    var generator = SystemRandomNumberGenerator()
    for round in 0..<400 {
        var exchange = RingExchange()
        exchange.id = UInt64(round + 1)
        exchange.requestFields = (0..<Int.random(in: 0...7, using: &generator)).map { _ in
            (names.randomElement(using: &generator)!, values.randomElement(using: &generator)!)
        }
        exchange.responseFields = (0..<Int.random(in: 0...7, using: &generator)).map { _ in
            (names.randomElement(using: &generator)!, values.randomElement(using: &generator)!)
        }
        let line = lines([exchange])[0]
        let request = #""request":{"headers":"# + referenceHeaders(exchange.requestFields, fingerprint) + #","body":"#
        let response = #""status":200,"headers":"# + referenceHeaders(exchange.responseFields, fingerprint) + #","body":"#
        #expect(line.contains(request), "\(exchange.requestFields)\n\(line)")
        #expect(line.contains(response), "\(exchange.responseFields)\n\(line)")
    }
}
