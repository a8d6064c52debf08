// A slow client: asks 127.0.0.1:PORT for TARGET and reads the answer at RATE bytes a second (a read of at most
// 64 KiB every 1/16 s, paced against the clock), so a proxy in between must hold back its upstream or buffer.
// Prints "bytes<TAB>seconds<TAB>status-line" when the connection closes.
// Usage: slow_reader PORT TARGET RATE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s PORT TARGET RATE\n", argv[0]); return 2; }
    int port = atoi(argv[1]);
    double rate = atof(argv[3]);
    char request[1024];
    int length = snprintf(request, sizeof request,
        "GET %s HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n", argv[2]);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("connect"); return 1; }
    if (write(fd, request, length) != length) { perror("write"); return 1; }
    static char buffer[1 << 16];
    char status[64] = "";
    long long total = 0;
    double start = now_s();
    for (;;) {
        // Never ahead of the pace: wait until the bytes read so far are due.
        double due = start + total / rate;
        double wait = due - now_s();
        if (wait > 0) {
            struct timespec pause = { (time_t)wait, (long)((wait - (time_t)wait) * 1e9) };
            nanosleep(&pause, NULL);
        }
        size_t want = (size_t)(rate / 16);
        if (want > sizeof buffer) want = sizeof buffer;
        if (want < 1) want = 1;
        ssize_t n = read(fd, buffer, want);
        if (n <= 0) break;
        if (total == 0) {
            size_t keep = 0;
            while (keep < (size_t)n && keep < sizeof status - 1 && buffer[keep] != '\r') keep++;
            memcpy(status, buffer, keep);
            status[keep] = 0;
        }
        total += n;
    }
    printf("%lld\t%.1f\t%s\n", total, now_s() - start, status);
    return 0;
}
