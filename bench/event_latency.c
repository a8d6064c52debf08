// Per-event delivery latency, measured by a compiled client so its own jitter stays in microseconds.
// Opens STREAMS connections to 127.0.0.1:PORT, asks each for an SSE answer whose events the mock upstream
// stamps with CLOCK_MONOTONIC at send ("mock_t_ns"), reads all sockets through epoll, stamps each event on
// arrival with the same clock, and prints p50/p99/max of (arrival - send) in microseconds and the count.
// The streams start spread evenly over one interval, so their events fall due at evenly spread instants
// rather than in bursts (a burst would measure the load core's queue more than the proxy). Connects are
// non-blocking, so a stream whose SYN waits for a full accept queue never keeps the others from being read.
// With SAMPLES_FILE, every event's latency (µs, one a line, in arrival order) is also written there.
// Usage: event_latency PORT STREAMS EVENTS INTERVAL_MS [SAMPLES_FILE]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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
    const char *body = "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":9,\"stream\":true,\"messages\":[]}";
    char request[512];
    int length = snprintf(request, sizeof request,
        "POST /v1/messages?events=%d&interval_ms=%d&timestamps=1 HTTP/1.1\r\nHost: bench\r\n"
        "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
        events, interval, strlen(body), body);

    int *fds = calloc(streams, sizeof *fds);
    char *connected = calloc(streams, 1);
    size_t capacity = (size_t)streams * (events + 16);
    double *delays = malloc(capacity * sizeof *delays);
    size_t count = 0;
    // Per stream: each read is scanned for stamps; a small carry keeps a stamp split across two reads.
    char (*carry)[64] = calloc(streams, 64);
    int *carried = calloc(streams, sizeof(int));
    int epoll_fd = epoll_create1(0);
    int opened = 0, open = 0;
    long long start = now_ns(), spacing = (long long)interval * 1000000LL / streams;
    static char buffer[1 << 16];
    static struct epoll_event ready[1024];
    const char *key = "\"mock_t_ns\":";
    size_t key_length = strlen(key);
    while (opened < streams || open > 0) {
        while (opened < streams && now_ns() >= start + opened * spacing) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
            inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS) { perror("connect"); return 1; }
            // Writable once connected: then the request goes out and the stream is read from.
            struct epoll_event want = { .events = EPOLLOUT, .data.u32 = (unsigned)opened };
            epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &want);
            fds[opened++] = fd;
            open++;
        }
        long long wait = opened < streams ? start + opened * spacing - now_ns() : 30000000000LL;
        if (wait < 0) wait = 0;
        struct timespec timeout = { (time_t)(wait / 1000000000LL), (long)(wait % 1000000000LL) };
        int n_ready = epoll_pwait2(epoll_fd, ready, 1024, &timeout, NULL);
        if (n_ready < 0) { perror("epoll_pwait2"); return 1; }
        if (n_ready == 0) {
            if (opened < streams) continue;
            fprintf(stderr, "timed out\n");
            return 1;
        }
        long long arrived = now_ns();
        for (int r = 0; r < n_ready; r++) {
            int i = (int)ready[r].data.u32;
            if (!connected[i]) {
                int error = 0;
                socklen_t size = sizeof error;
                getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &error, &size);
                if (error) { fprintf(stderr, "connect: %s\n", strerror(error)); return 1; }
                if (write(fds[i], request, length) != length) { perror("write"); return 1; }
                struct epoll_event want = { .events = EPOLLIN, .data.u32 = (unsigned)i };
                epoll_ctl(epoll_fd, EPOLL_CTL_MOD, fds[i], &want);
                connected[i] = 1;
                continue;
            }
            int carry_length = carried[i];
            memcpy(buffer, carry[i], carry_length);
            ssize_t n = read(fds[i], buffer + carry_length, sizeof buffer - carry_length - 1);
            if (n < 0 && errno == EAGAIN) continue;
            if (n <= 0) { close(fds[i]); open--; continue; }  // closing also takes it out of the epoll set
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
