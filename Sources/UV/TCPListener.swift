// A listening TCP socket that hands each accepted connection to its owner as a TCPStream.
internal import CLibUV

public final class TCPListener {
    public let loop: EventLoop
    private var handle: LoopHandle<uv_tcp_t>!
    private let onAccept: (TCPStream) -> Void
    private var isOpen = true
    /// Asked before each accept: true holds new connections in the kernel's backlog (a connection limit).
    public var mustWait: (() -> Bool)?
    /// A connection is waiting: libuv holds it and stops polling the socket until `resumeAccepting()`.
    public private(set) var isWaiting = false

    /// Binds and listens. `reusePort` lets several loops listen on one port (SO_REUSEPORT).
    public init(loop: EventLoop, address: SocketAddress, backlog: Int32 = 1024, reusePort: Bool = false,
                onAccept: @escaping (TCPStream) -> Void) throws(UVError) {
        self.loop = loop
        self.onAccept = onAccept
        handle = LoopHandle(owner: self)
        uv_tcp_init_ex(loop.raw, handle.pointer, UInt32(address.isIPv6 ? AF_INET6 : AF_INET))
        do {
            if reusePort {
                var fd: uv_os_fd_t = -1
                uv_fileno(handle.base, &fd)
                var one: Int32 = 1
                setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
            }
            try check(address.withSockaddr { uv_tcp_bind(handle.pointer, $0, 0) }, "bind")
            try check(uv_listen(handle.stream, backlog, onConnection), "listen")
        } catch {
            close()
            throw error
        }
    }

    /// The bound address (useful with port 0).
    public var localAddress: SocketAddress? {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) { ptr in
            ptr.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_getsockname(handle.pointer, $0, &length) == 0 }
        }
        guard ok else { return nil }
        return withUnsafePointer(to: storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress(copying: $0) } }
    }

    /// Stops accepting; connections already accepted are unaffected.
    public func close() {
        guard isOpen else { return }
        isOpen = false
        handle.close()
    }

    /// Accepts the connection held while waiting (libuv then polls the socket again for the rest).
    public func resumeAccepting() {
        guard isWaiting, isOpen else { return }
        isWaiting = false
        accept()
    }

    fileprivate func accept() {
        if let mustWait, mustWait() {
            // Not calling uv_accept leaves the connection with libuv, which stops reading the listening socket:
            // later clients wait in the kernel's backlog, as with HAProxy's maxconn.
            isWaiting = true
            return
        }
        let stream = TCPStream(loop: loop)
        if uv_accept(handle.stream, stream.streamHandle) == 0 {
            onAccept(stream)
        } else {
            stream.close()
        }
    }
}

private func onConnection(_ server: UnsafeMutablePointer<uv_stream_t>?, _ status: Int32) {
    guard status >= 0 else { return }  // EMFILE and friends: the next connection will try again.
    LoopHandle<uv_tcp_t>.owner(of: server, as: TCPListener.self).accept()
}
