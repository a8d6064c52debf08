// An IPv4 or IPv6 socket address, held by value.
internal import CLibUV

public struct SocketAddress: CustomStringConvertible, Sendable {
    var storage = sockaddr_storage()

    /// Parses a numeric IPv4 or IPv6 address (no name resolution).
    public init?(ip: String, port: Int) {
        guard (0...65535).contains(port) else { return nil }
        var v6 = sockaddr_in6()
        var v4 = sockaddr_in()
        if uv_ip4_addr(ip, Int32(port), &v4) == 0 {
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: v4) { dst.copyMemory(from: $0) }
            }
        } else if uv_ip6_addr(ip, Int32(port), &v6) == 0 {
            withUnsafeMutableBytes(of: &storage) { dst in
                withUnsafeBytes(of: v6) { dst.copyMemory(from: $0) }
            }
        } else {
            return nil
        }
    }

    /// Parses a listen address as users write it: `HOST:PORT`, `[IPv6]:PORT`, `:PORT` (all interfaces) or
    /// `localhost:PORT`. The host must be numeric (binding needs no name resolution). Port 0 is allowed.
    public init?(listen text: String) {
        var host = ""
        var portText = ""
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = String(text[close...].dropFirst().drop(while: { $0 == ":" }))
        } else if let colon = text.lastIndex(of: ":") {
            host = String(text[..<colon])
            portText = String(text[text.index(after: colon)...])
        }
        if host == "localhost" { host = "127.0.0.1" }
        if host.isEmpty { host = "0.0.0.0" }
        guard let port = Int(portText) else { return nil }
        self.init(ip: host, port: port)
    }

    init(copying addr: UnsafePointer<sockaddr>) {
        let length = addr.pointee.sa_family == sa_family_t(AF_INET6)
            ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
        withUnsafeMutableBytes(of: &storage) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: addr, count: length))
        }
    }

    public var isIPv6: Bool { storage.ss_family == sa_family_t(AF_INET6) }

    public var port: Int {
        withUnsafeBytes(of: storage) { raw in
            isIPv6 ? Int(UInt16(bigEndian: raw.load(as: sockaddr_in6.self).sin6_port))
                   : Int(UInt16(bigEndian: raw.load(as: sockaddr_in.self).sin_port))
        }
    }

    /// The address alone, without port: `127.0.0.1`, `::1`.
    public var ip: String {
        var text = [CChar](repeating: 0, count: 64)
        withUnsafePointer(to: storage) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                _ = uv_ip_name(sa, &text, text.count)
            }
        }
        return String(decoding: text.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// 127.0.0.0/8 or ::1: reachable from this machine only.
    public var isLoopback: Bool { isIPv6 ? ip == "::1" : ip.hasPrefix("127.") }

    /// `ip:port`, with brackets around IPv6 addresses.
    public var description: String { isIPv6 ? "[\(ip)]:\(port)" : "\(ip):\(port)" }

    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>) -> R) -> R {
        withUnsafePointer(to: storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
    }
}
