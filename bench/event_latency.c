// Per-event delivery latency, measured by a compiled client so its own jitter stays in microseconds.
// Opens STREAMS connections to 127.0.0.1:PORT, asks each for an SSE answer whose events the mock upstream
// stamps with CLOCK_MONOTONIC at send ("mock_t_ns"), reads all sockets with poll(), stamps each event on
// arrival with the same clock, and prints p50/p99/max of (arrival - send) in microseconds and the count.
// With SAMPLES_FILE, every event's latency (µs, one a line, in arrival order) is also written there.
// Usage: event_latency PORT STREAMS EVENTS INTERVAL_MS [SAMPLES_FILE]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) { fprintf(stderr, "usage: %s PORT STREAMS EVENTS INTERVAL_MS [SAMPLES_FILE]\n", argv[0]); return 2; }
    int port = atoi(argv[1]), streams = atoi(argv[2]), events = atoi(argv[3]), interval = atoi(argv[4]);
    const char *body = "{\"model\":\"m\",\"max_tokens\":9,\"stream\":true,\"messages\":[]}";
    char request[512];
    int length = snprintf(request, sizeof request,
        "POST /v1/messages?events=%d&interval_ms=%d&timestamps=1 HTTP/1.1\r\nHost: bench\r\n"
        "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
        events, interval, strlen(body), body);

    struct pollfd *fds = calloc(streams, sizeof *fds);
    size_t capacity = (size_t)streams * (events + 16);
    double *delays = malloc(capacity * sizeof *delays);
    size_t count = 0;
    // Per stream: bytes seen so far are scanned for the stamp; a small carry keeps a stamp split across reads.
    char (*carry)[64] = calloc(streams, 64);
    int *carried = calloc(streams, sizeof(int));
    for (int i = 0; i < streams; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("connect"); return 1; }
        if (write(fd, request, length) != length) { perror("write"); return 1; }
        fds[i].fd = fd;
        fds[i].events = POLLIN;
    }
    int open = streams;
    static char buffer[1 << 16];
    const char *key = "\"mock_t_ns\":";
    size_t key_length = strlen(key);
    while (open > 0) {
        if (poll(fds, streams, 30000) <= 0) { fprintf(stderr, "timed out\n"); return 1; }
        long long arrived = now_ns();
        for (int i = 0; i < streams; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int carry_length = carried[i];
            memcpy(buffer, carry[i], carry_length);
            ssize_t n = read(fds[i].fd, buffer + carry_length, sizeof buffer - carry_length - 1);
            if (n <= 0) { close(fds[i].fd); fds[i].fd = -1; open--; continue; }
            size_t total = carry_length + n;
            buffer[total] = 0;
            char *at = buffer;
            char *last_end = buffer;
            while ((at = strstr(at, key)) != NULL) {
                char *digits = at + key_length, *end;
                long long sent = strtoll(digits, &end, 10);
                if (*end == 0) break;  // number cut by the read: keep it for the next one
                if (count < capacity) delays[count++] = (arrived - sent) / 1000.0;
                at = end;
                last_end = end;
            }
            size_t keep = total - (size_t)(last_end - buffer);
            if (keep > 63) keep = 63;
            memcpy(carry[i], buffer + total - keep, keep);
            carried[i] = (int)keep;
        }
    }
    if (count == 0) { fprintf(stderr, "no events\n"); return 1; }
    if (argc == 6) {
        FILE *samples = fopen(argv[5], "w");
        if (!samples) { perror(argv[5]); return 1; }
        for (size_t i = 0; i < count; i++) fprintf(samples, "%.1f\n", delays[i]);
        fclose(samples);
    }
    qsort(delays, count, sizeof *delays, compare);
    printf("%.0f\t%.0f\t%.0f\t%zu\n", delays[count / 2], delays[(size_t)(count * 0.99)], delays[count - 1], count);
    return 0;
}
