// libuv, as one header for Swift. Installed by Debian's libuv1-dev.
#include <uv.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/ioctl.h>

/// Bytes the kernel holds in a TCP socket's send queue, not yet taken by the peer (-1 on error). A slow reader's
/// progress shows here long before a large write completes. (ioctl is variadic, so Swift cannot call it.)
static inline int kgb_tcp_unsent_in_kernel(uv_tcp_t *handle) {
    uv_os_fd_t fd;
    int queued = 0;
    if (uv_fileno((const uv_handle_t *)handle, &fd) != 0) return -1;
    return ioctl(fd, TIOCOUTQ, &queued) == 0 ? queued : -1;
}
