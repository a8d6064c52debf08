// The lifetime of a libuv handle, in one place. libuv may call back into a handle's owner until its close
// callback has run, so the handle keeps its owner alive until then: `handle.data` holds a retained reference,
// released (and the handle's memory freed) only in that close callback. Every handle type here goes through this.
internal import CLibUV

/// Implemented by objects that must tidy up once their handle is closed (TCPStream frees its requests there).
protocol LoopHandleOwner: AnyObject {
    func handleClosed()
}

/// The memory of one libuv handle of type `Handle`, and its owner's retained reference.
struct LoopHandle<Handle> {
    let pointer: UnsafeMutablePointer<Handle>

    /// Allocates the handle (still to be initialised with its `uv_*_init`, which leaves `data` alone) and points it
    /// at `owner`.
    init(owner: AnyObject) {
        pointer = UnsafeMutableRawPointer.allocate(byteCount: MemoryLayout<Handle>.size, alignment: MemoryLayout<Handle>.alignment)
            .bindMemory(to: Handle.self, capacity: 1)
        base.pointee.data = Unmanaged.passRetained(owner).toOpaque()
    }

    var base: UnsafeMutablePointer<uv_handle_t> { UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: uv_handle_t.self) }
    var stream: UnsafeMutablePointer<uv_stream_t> { UnsafeMutableRawPointer(pointer).assumingMemoryBound(to: uv_stream_t.self) }

    /// The owner of the handle libuv passed to a callback (not retained: it lives until the close callback).
    @inline(__always)
    static func owner<Owner: AnyObject>(of handle: UnsafeMutableRawPointer?, as _: Owner.Type = Owner.self) -> Owner {
        Unmanaged<Owner>.fromOpaque(handle!.assumingMemoryBound(to: uv_handle_t.self).pointee.data).takeUnretainedValue()
    }

    /// Runs `body` on the owner of the handle libuv passed to a callback, without the retain and release a strong
    /// reference would cost (the owner lives until the close callback, which never runs inside another callback of
    /// its handle). For the callbacks that run for every read, write and loop iteration.
    @inline(__always)
    static func withOwner<Owner: AnyObject, R>(of handle: UnsafeMutableRawPointer?, as _: Owner.Type = Owner.self,
                                               _ body: (Owner) -> R) -> R {
        Unmanaged<Owner>.fromOpaque(handle!.assumingMemoryBound(to: uv_handle_t.self).pointee.data)._withUnsafeGuaranteedRef(body)
    }

    /// Closes the handle; once libuv is done with it, the owner hears `handleClosed()` (if it cares), the handle's
    /// memory is freed and the owner is let go.
    func close() {
        uv_close(base, onLoopHandleClosed)
    }

    /// Closes a TCP handle with a reset (RST) instead of a FIN; same ending as `close()`.
    func closeWithReset() where Handle == uv_tcp_t {
        if uv_tcp_close_reset(pointer, onLoopHandleClosed) != 0 { close() }
    }

    /// Does not keep the loop alive on its own.
    func unref() { uv_unref(base) }
}

private func onLoopHandleClosed(_ handle: UnsafeMutablePointer<uv_handle_t>?) {
    let owner = Unmanaged<AnyObject>.fromOpaque(handle!.pointee.data)
    (owner.takeUnretainedValue() as? LoopHandleOwner)?.handleClosed()
    UnsafeMutableRawPointer(handle!).deallocate()
    owner.release()
}
