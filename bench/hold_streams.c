// Many slow SSE streams held open through a proxy, to see what each one costs it in memory and CPU.
// Opens STREAMS connections to 127.0.0.1:PORT in steps of STEP, each asking the mock upstream for a stream of
// one event a second. After each step, once every open stream has had its first bytes, it waits SETTLE_MS and
// samples the resident memory (VmRSS) of the proxy's processes (PIDS, comma-separated: all of a proxy's
// processes, summed), writing "streams<TAB>rss_kb" to stdout (streams: those answered, should a proxy refuse
// or queue some; it waits 20 s for them). With all streams open it reads events for HOLD_S
// seconds and writes "hold<TAB>seconds<TAB>cpu_us<TAB>events<TAB>open": the proxy's CPU time (utime+stime of
// all PIDS) over that window, the SSE events received, and the streams still open at its end. Then it closes
// every stream and exits. Reads use epoll, so the client's own cost does not grow with the stream count.
// Usage: hold_streams PORT STREAMS STEP SETTLE_MS HOLD_S PIDS
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

static int pids[16], pid_count;
static int port, *fds;
static char *started;  // per stream: has it had any bytes yet
static char *last;     // per stream: the last byte read (an event's "\n\n" may straddle two reads)
static int open_streams, answered;
static long long events;
static int epoll_fd;
static const char *request;
static size_t request_length;

static long long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static long rss_kb(void) {
    long total = 0;
    for (int i = 0; i < pid_count; i++) {
        char path[64], line[256];
        snprintf(path, sizeof path, "/proc/%d/status", pids[i]);
        FILE *status = fopen(path, "r");
        if (!status) continue;
        while (fgets(line, sizeof line, status))
            if (strncmp(line, "VmRSS:", 6) == 0) total += atol(line + 6);
        fclose(status);
    }
    return total;
}

static long long cpu_us(void) {
    long long ticks = 0;
    for (int i = 0; i < pid_count; i++) {
        char path[64], text[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", pids[i]);
        FILE *stat = fopen(path, "r");
        if (!stat) continue;
        size_t n = fread(text, 1, sizeof text - 1, stat);
        fclose(stat);
        text[n] = 0;
        // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
        char *after = strrchr(text, ')');
        if (!after) continue;
        long long utime = 0, stime = 0;
        sscanf(after + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &utime, &stime);
        ticks += utime + stime;
    }
    return ticks * 1000000 / sysconf(_SC_CLK_TCK);
}

static void open_stream(int index) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("connect"); exit(1); }
    if (write(fd, request, request_length) != (ssize_t)request_length) { perror("write"); exit(1); }
    struct epoll_event event = { .events = EPOLLIN, .data.u32 = (unsigned)index };
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event);
    fds[index] = fd;
    open_streams++;
}

// Reads whatever arrived within `timeout_ms`; counts events ("\n\n" ends one) and first answers.
static void pump(int timeout_ms) {
    static struct epoll_event ready[1024];
    static char buffer[1 << 16];
    int n = epoll_wait(epoll_fd, ready, 1024, timeout_ms);
    for (int i = 0; i < n; i++) {
        int index = (int)ready[i].data.u32;
        ssize_t got = read(fds[index], buffer, sizeof buffer);
        if (got < 0 && errno == EAGAIN) continue;
        if (got <= 0) {
            close(fds[index]);
            fds[index] = -1;
            open_streams--;
            continue;
        }
        if (!started[index]) { started[index] = 1; answered++; }
        char previous = last[index];
        for (ssize_t j = 0; j < got; j++) {
            if (buffer[j] == '\n' && previous == '\n') events++;
            previous = buffer[j];
        }
        last[index] = previous;
    }
}

int main(int argc, char **argv) {
    if (argc != 7) { fprintf(stderr, "usage: %s PORT STREAMS STEP SETTLE_MS HOLD_S PIDS\n", argv[0]); return 2; }
    port = atoi(argv[1]);
    int streams = atoi(argv[2]), step = atoi(argv[3]), settle = atoi(argv[4]), hold = atoi(argv[5]);
    for (char *pid = strtok(argv[6], ","); pid && pid_count < 16; pid = strtok(NULL, ",")) pids[pid_count++] = atoi(pid);
    // Long enough to outlast the whole measurement; the streams are closed by this client, not by their end.
    static char text[512];
    const char *body = "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":9,\"stream\":true,\"messages\":[]}";
    request_length = (size_t)snprintf(text, sizeof text,
        "POST /v1/messages?events=3600&interval_ms=1000 HTTP/1.1\r\nHost: bench\r\n"
        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
    request = text;
    fds = calloc(streams, sizeof *fds);
    started = calloc(streams, 1);
    last = calloc(streams, 1);
    epoll_fd = epoll_create1(0);

    printf("0\t%ld\n", rss_kb());
    fflush(stdout);
    int opened = 0;
    while (opened < streams) {
        int until = opened + step < streams ? opened + step : streams;
        // Connect in small batches, reading in between, so the proxy's accept queue never overflows.
        while (opened < until) {
            for (int k = 0; k < 100 && opened < until; k++) open_stream(opened++);
            pump(0);
        }
        long long deadline = now_ms() + 20000;
        while (answered < opened && now_ms() < deadline) pump(50);
        // A proxy that holds fewer streams than asked (a connection limit) is measured at what it holds.
        if (answered < opened) fprintf(stderr, "hold_streams: %d of %d streams answered\n", answered, opened);
        long long settled = now_ms() + settle;
        while (now_ms() < settled) pump((int)(settled - now_ms()));
        printf("%d\t%ld\n", answered, rss_kb());
        fflush(stdout);
    }
    long long cpu_before = cpu_us(), events_before = events, start = now_ms(), end = start + hold * 1000LL;
    while (now_ms() < end) pump((int)(end - now_ms()));
    long long cpu_after = cpu_us();
    printf("hold\t%.2f\t%lld\t%lld\t%d\n", (now_ms() - start) / 1000.0, cpu_after - cpu_before, events - events_before,
           open_streams);
    for (int i = 0; i < streams; i++) if (fds[i] >= 0) close(fds[i]);
    return 0;
}
