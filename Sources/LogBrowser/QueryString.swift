// A request target's path and query (`/api/exchanges?agent=build%20bot&status=5xx`), percent-decoded. A name given
// twice keeps its last value; bytes that are not UTF-8 after decoding are replaced, never trusted.
import HTTP1

struct RequestTarget {
    let path: String
    let query: [String: String]

    init(_ target: String) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = Self.decode(parts.first.map(String.init) ?? "/", plusIsSpace: false)
        var query: [String: String] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let nameValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let name = Self.decode(String(nameValue[0]), plusIsSpace: true)
                query[name] = nameValue.count == 2 ? Self.decode(String(nameValue[1]), plusIsSpace: true) : ""
            }
        }
        self.query = query
    }

    /// The value, or nil when absent or empty (an empty filter field means no filter).
    subscript(_ name: String) -> String? {
        guard let value = query[name], !value.isEmpty else { return nil }
        return value
    }

    static func decode(_ text: String, plusIsSpace: Bool) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "%"), index + 2 < bytes.count,
               let high = ASCII.hexValue(bytes[index + 1]), let low = ASCII.hexValue(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
                continue
            }
            out.append(byte == UInt8(ascii: "+") && plusIsSpace ? UInt8(ascii: " ") : byte)
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
