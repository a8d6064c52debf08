// `kgb ui`'s web server, on its own libuv loop: the page's assets (compiled into the binary), a JSON API over the
// store, and an SSE stream that tells open pages when records arrive. Store queries run on libuv's thread pool,
// so a slow one never holds the loop (other requests, the live stream). One request per connection.
import HTTP1
import UV

public final class BrowserServer {
    private let loop: EventLoop
    private let store: SharedStore
    private let access: BrowserAccess
    private var listener: TCPListener?
    /// Pages listening for arrivals, each with the arrival mark it was last told (nil: none yet, so the first poll
    /// tells it, and the page catches up on what arrived between loading and listening).
    private var liveStreams: [ObjectIdentifier: (stream: TCPStream, told: String?)] = [:]
    private var polling = false
    private var pollTimer: Timer?
    private var heartbeats = 0

    /// How often the store is asked whether records arrived while a page listens (new rows show within a second).
    static let pollMilliseconds: UInt64 = 500
    /// Unsent live-stream bytes past which a page is taken to have stopped reading.
    static let stalledLiveBytes = 64 * 1024

    public init(loop: EventLoop, address: SocketAddress, store: SharedStore, token: String?,
                allowedHosts: Set<String>) throws(UVError) {
        self.loop = loop
        self.store = store
        access = BrowserAccess(token: token, allowedHosts: allowedHosts)
        listener = try TCPListener(loop: loop, address: address) { [unowned self] stream in
            BrowserConnection(stream: stream, server: self).start()
        }
        let timer = Timer(loop: loop) { [unowned self] in poll() }
        timer.start(repeatingEvery: Self.pollMilliseconds)
        pollTimer = timer
    }

    public var boundAddress: SocketAddress? { listener?.localAddress }

    public func close() {
        listener?.close()
        listener = nil
        pollTimer?.close()
        pollTimer = nil
        for live in liveStreams.values { live.stream.close() }
        liveStreams.removeAll()
    }

    // MARK: requests

    /// Answers one request; `reply` may be called later (after a query), on the loop's thread.
    func handle(_ request: BrowserRequest, stream: TCPStream, reply: @escaping (BrowserResponse) -> Void) {
        switch access.check(request) {
        case .allowed: break
        case .refused(let response), .redirect(let response):
            reply(response)
            return
        }
        guard request.method == .get || request.method == .head else {
            reply(.text(405, "only GET is served here\n"))
            return
        }
        let target = request.target
        switch target.path {
        case "/": reply(.asset(BrowserAssets.page, type: "text/html; charset=utf-8"))
        case "/app.js": reply(.asset(BrowserAssets.script, type: "text/javascript; charset=utf-8"))
        case "/app.css": reply(.asset(BrowserAssets.style, type: "text/css; charset=utf-8"))
        case "/api/live" where request.method == .get: startLive(stream)
        case "/api/live": reply(.text(405, "the live stream is GET only\n"))
        case "/api/exchanges":
            query(reply) { queries throws(BrowseError) in try queries.exchanges(try ExchangeFilter(target)) }
        case "/api/facets":
            query(reply) { queries throws(BrowseError) in try queries.facets() }
        case "/api/overview":
            let now = ISOTime.now()
            let fromText = target["from"], toText = target["to"]
            query(reply) { queries throws(BrowseError) in
                let from = try ExchangeFilter.time(target, "from") ?? ISOTime.text(now - 86_400)
                let to = try ExchangeFilter.time(target, "to") ?? ISOTime.text(now + 60)
                let span = (ISOTime.seconds(to) ?? now) - (ISOTime.seconds(from) ?? now)
                guard span > 0 else {
                    throw BrowseError("from (\(fromText ?? from)) must be before to (\(toText ?? to))", isInput: true)
                }
                return try queries.overview(from: from, to: to, bucket: BucketSize(spanSeconds: span))
            }
        default:
            if let id = target.path.dropPrefix("/api/exchange/") {
                query(reply) { queries throws(BrowseError) in try queries.exchange(id: id) }
            } else if let id = target.path.dropPrefix("/api/session/") {
                query(reply) { queries throws(BrowseError) in try queries.session(id: id) }
            } else {
                reply(.text(404, "no such page: \(target.path)\n"))
            }
        }
    }

    /// Runs `answer` against the store on a pool thread; nil from it is a 404, an error a 400 naming what is wrong
    /// (a bad filter) or 503 (the store failed).
    private func query(_ reply: @escaping (BrowserResponse) -> Void,
                       _ answer: @escaping @Sendable (ExchangeQueries) throws(BrowseError) -> [UInt8]?) {
        let store = store
        BackgroundWork.run(on: loop, { () -> Result<[UInt8]?, BrowseError> in
            do throws(BrowseError) {
                return .success(try store.use { store throws(BrowseError) in try answer(ExchangeQueries(store: store)) })
            } catch {
                return .failure(error)
            }
        }, then: { result in
            switch result {
            case .success(let body?): reply(.json(body))
            case .success(nil): reply(.text(404, "no such exchange\n"))
            case .failure(let error): reply(.text(error.isInput ? 400 : 503, "\(error.description)\n"))
            }
        })
    }

    // MARK: the live stream

    private func startLive(_ stream: TCPStream) {
        var head: [UInt8] = []
        BrowserResponse.writeHead(status: 200, contentType: "text/event-stream", contentLength: nil, extra: [], into: &head)
        head.append(contentsOf: Array("retry: 2000\n\n".utf8))
        stream.write(copying: head)
        stream.flush()
        liveStreams[ObjectIdentifier(stream)] = (stream, nil)
        poll()
    }

    func streamEnded(_ stream: TCPStream) {
        liveStreams[ObjectIdentifier(stream)] = nil
    }

    private func poll() {
        guard !liveStreams.isEmpty, !polling else { return }
        polling = true
        heartbeats += 1
        let store = store
        BackgroundWork.run(on: loop, { try? store.use { store throws(BrowseError) in try ExchangeQueries(store: store).arrivalMark() } },
                           then: { [weak self] mark in
            guard let self else { return }
            polling = false
            for (key, live) in liveStreams {
                var event: String?
                if let mark, mark != live.told {
                    event = "event: arrival\ndata: \(mark)\n\n"
                    liveStreams[key]?.told = mark
                } else if heartbeats % 30 == 0 {
                    event = ": still here\n\n"  // proxies and browsers keep a quiet stream open
                }
                    guard let event else { continue }
                // A page that stopped reading (a suspended laptop's browser) is let go rather than buffered for.
                guard live.stream.pendingBytes < Self.stalledLiveBytes else {
                    live.stream.close()
                    liveStreams[key] = nil
                    continue
                }
                live.stream.write(copying: Array(event.utf8))
                live.stream.flush()
            }
        })
    }
}

private extension String {
    func dropPrefix(_ prefix: String) -> String? {
        guard hasPrefix(prefix), count > prefix.count else { return nil }
        return String(dropFirst(prefix.count))
    }
}
