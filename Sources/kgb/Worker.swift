// One worker: an event loop with its own listener on the shared port, gateway, log ring, recorder and logger
// thread. Worker 0 runs on the main thread (which also serves signals and the admin endpoint); the others
// each get a thread. They share nothing but the sinks and the read-only configuration.
import Dispatch
import ExchangeLog
import Gateway
import LogRing
import UV

final class Worker: @unchecked Sendable {
    let index: Int
    let loop = EventLoop()
    let gateway: Gateway
    let recorder: ExchangeRecorder?
    let logger: ExchangeLogger?
    /// Wakes this loop from another thread to start draining.
    private var drainWake: AsyncWake?
    private let finished = DispatchSemaphore(value: 0)
    /// Called on this worker's loop when it has stopped serving (drained or timed out).
    var onStopped: (() -> Void)?

    init(index: Int, config: GatewayConfig, sinks: [LogSink], logSettings: KGBCommand.LogSettings,
         loggerOptions: LoggerOptions) {
        self.index = index
        if sinks.isEmpty {
            recorder = nil
            logger = nil
        } else {
            let ring = LogRing(capacity: logSettings.ringBytes)
            let wakeup = LogWakeup()
            recorder = ExchangeRecorder(loop: loop, ring: ring, wakeup: wakeup, policy: logSettings.overflow)
            logger = ExchangeLogger(ring: ring, wakeup: wakeup, sinks: sinks, options: loggerOptions)
        }
        gateway = Gateway(loop: loop, config: config, observer: recorder ?? NoExchangeLog())
    }

    /// Binds the listener (on the calling thread, before the loop runs) and starts the logger thread.
    func start() throws(UVError) {
        try gateway.start()
        logger?.start()
        drainWake = AsyncWake(loop: loop) { [unowned self] in self.drain() }
    }

    /// Runs the loop on a thread of its own (workers 1...N-1).
    func runOnThread() {
        NamedThread.start(name: "kgb-worker-\(index)") { [self] in
            loop.run()
            finished.signal()
        }
    }

    /// Any thread: begin the drain on this worker's loop.
    func requestDrain() { drainWake?.send() }

    /// Loop thread.
    func drain() {
        gateway.drain { [self] in
            drainWake?.close()
            drainWake = nil
            onStopped?()
        }
    }

    /// Waits for a worker thread's loop to end.
    func join(timeoutSeconds: Double) -> Bool {
        finished.wait(timeout: .now() + timeoutSeconds) == .success
    }

    /// Every finished exchange's record reaches the sinks (after the loop has stopped).
    func finishLogging() {
        recorder?.flushAll()
        logger?.stop()
    }
}
