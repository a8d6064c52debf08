// The failures an upstream can show a gateway, on request (`fault=` / `x-mock-fault`), and the moment each one
// takes effect: before the head, right after it, or after `fault_after` pieces of the body.

enum Fault: String, CaseIterable {
    /// After `fault_after` events: a TCP RST, so the peer sees the exchange aborted, not finished.
    case reset
    /// After `fault_after` events: nothing more, connection left open (a hung upstream).
    case stall
    /// No Content-Length, no chunking, `Connection: close`: the body ends when the connection does.
    case closeDelimited = "close-delimited"
    /// The request is read and never answered; the connection stays open.
    case noResponse = "no-response"
    /// The request is read, then the connection is closed with no response at all.
    case closeBeforeHead = "close-before-head"
    /// A Content-Length body sent half-way, then closed. On a chunked body: after `fault_after` pieces, a
    /// chunk cut in the middle.
    case truncate
}

extension ResponseWriter {
    /// Faults that replace the whole response. True when one did.
    func handleFaultBeforeHead() -> Bool {
        switch knobs.fault {
        case .noResponse?:
            fallSilent()
            return true
        case .closeBeforeHead?:
            connection.close()
            return true
        default:
            return false
        }
    }

    /// A head went out but there is no body to cut (HEAD, 204, 304): reset and stall act right after the head.
    func handleFaultWithoutBody() -> Bool {
        switch knobs.fault {
        case .reset?:
            stream.flush()
            connection.reset()
            return true
        case .stall?:
            fallSilent()
            return true
        default:
            return false
        }
    }

    /// Called when `fault_after` pieces have been written. True when the fault took over the response.
    func handleFaultMidBody() -> Bool {
        if handleFaultWithoutBody() { return true }  // reset and stall act the same mid-body
        switch knobs.fault {
        case .truncate?:
            // A Content-Length body is cut by byte count in `send`; a chunked or close-delimited one here.
            if case .contentLength = framing { return false }
            guard let source = currentSource, source.hasNext else {
                cutShort()
                return true
            }
            sendHalf(source.next(timestamp: nil))
            return true
        default:
            return false
        }
    }
}
