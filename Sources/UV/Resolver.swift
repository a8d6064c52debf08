// Name resolution through uv_getaddrinfo: libuv runs getaddrinfo on its thread pool, so the loop never blocks.
internal import CLibUV

public enum Resolver {
    /// Resolves `host` to addresses (IPv4 and IPv6, in the system's preferred order) and calls back on the loop.
    public static func resolve(loop: EventLoop, host: String, port: Int,
                               _ completion: @escaping (Result<[SocketAddress], UVError>) -> Void) {
        if let literal = SocketAddress(ip: host, port: port) {
            // Nothing to look up, but the answer still comes on a later turn, as a lookup's would.
            loop.deliverLater { completion(.success([literal])) }
            return
        }
        let request = UnsafeMutablePointer<uv_getaddrinfo_t>.allocate(capacity: 1)
        request.pointee.data = Unmanaged.passRetained(Box(completion)).toOpaque()
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        let status = uv_getaddrinfo(loop.raw, request, onResolved, host, String(port), &hints)
        if status < 0 {
            Unmanaged<Box>.fromOpaque(request.pointee.data).release()
            request.deallocate()
            loop.deliverLater { completion(.failure(UVError(status, "getaddrinfo"))) }
        }
    }

    final class Box {
        let completion: (Result<[SocketAddress], UVError>) -> Void
        init(_ completion: @escaping (Result<[SocketAddress], UVError>) -> Void) { self.completion = completion }
    }
}

private func onResolved(_ request: UnsafeMutablePointer<uv_getaddrinfo_t>?, _ status: Int32, _ result: UnsafeMutablePointer<addrinfo>?) {
    let box = Unmanaged<Resolver.Box>.fromOpaque(request!.pointee.data).takeRetainedValue()
    request!.deallocate()
    defer { uv_freeaddrinfo(result) }
    guard status == 0 else {
        box.completion(.failure(UVError(status, "getaddrinfo")))
        return
    }
    var addresses: [SocketAddress] = []
    var cursor = result
    while let info = cursor {
        if let addr = info.pointee.ai_addr, info.pointee.ai_family == AF_INET || info.pointee.ai_family == AF_INET6 {
            addresses.append(SocketAddress(copying: addr))
        }
        cursor = info.pointee.ai_next
    }
    box.completion(addresses.isEmpty ? .failure(UVError(UV_EAI_NONAME.rawValue, "getaddrinfo")) : .success(addresses))
}
