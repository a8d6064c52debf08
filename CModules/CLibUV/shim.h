// libuv, as one header for Swift. Installed by Debian's libuv1-dev.
#include <uv.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
