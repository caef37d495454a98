/*
 * latency_proxy - a loopback TCP proxy that adds a fixed delay in each direction, for the
 * imapmail benchmark (bench/run_bench.py starts it for scripts/bench --rtt-ms).
 *
 *   latency_proxy --target-port P --delay-ms D [--port-file F] [--max-seconds S]
 *                 [--listen-port L]
 *
 * Listens on 127.0.0.1 (port L, default an ephemeral one, written to --port-file and printed)
 * and forwards every connection to 127.0.0.1:P. Each chunk of bytes read (what one read of the
 * socket returns, up to 1 MiB) is held back D ms before it is passed on, in both directions, so
 * a round trip gains 2*D ms; the bytes of a direction stay in order and keep flowing while
 * earlier ones wait (the bandwidth is not cut to one buffer per delay). At most 64 MiB wait per
 * direction (counted in bytes; the reader pauses until the writer has passed some on).
 *
 * Loopback only: it never listens on nor connects to anything but 127.0.0.1. It exits by itself
 * after --max-seconds (default 3600), or on SIGTERM / SIGINT. Exit status 2 on a usage error.
 *
 * C rather than Python because the proxy shares the 2 cores with what it measures: an asyncio
 * proxy burns about a core moving the benchmark's 425 MB, which slows the library (which needs
 * CPU) far more than the raw client. Each direction of a connection has a reader thread, which
 * stamps every chunk with its due time and queues it, and a writer thread, which sleeps until
 * the oldest chunk is due and writes it.
 *
 * Moving the bytes costs the proxy CPU that a real network delay would not cost the client
 * machine, taken from the client under test on the same cores. The first data path (recv()
 * into a 256 KiB buffer, send() from it: two copies through user space) cost about 0.25 s of
 * CPU for the benchmark's 425 MB full read. So the bytes no longer pass through user space:
 * the reader splice(2)s from its socket into a pipe that the chunk owns (the kernel takes
 * references to the socket's pages, it copies nothing), and the writer, when the chunk is due,
 * splices that pipe into the other socket (0.19 s). The writer also looks at the clock before
 * sleeping: most chunks of a fast transfer are already due when it gets to them, and
 * clock_nanosleep() arms a timer even then, which on a VM costs more than the splices (0.15 s).
 * What is left is the TCP stack and about two thread wake-ups per chunk.
 *
 * Pipes are enlarged to 1 MiB (F_SETPIPE_SZ, capped by /proc/sys/fs/pipe-max-size) and kept in
 * a pool of up to 64 idle pipes shared by all connections, so a chunk reuses a pipe rather than
 * creating one; a pipe goes back only empty, and a connection that fails closes the pipes of
 * its unsent chunks. At most (RLIMIT_NOFILE - 256) / 2 pipes are open at once (the soft limit
 * is raised towards the hard one, up to 65536), so that 256 descriptors stay for the sockets.
 * A chunk is copied the old way when no pipe can be had (that limit, pipe2() failing, or
 * F_SETPIPE_SZ refused, as for an unprivileged user past /proc/sys/fs/pipe-user-pages-soft),
 * and every chunk once splice() has failed with EINVAL or ENOSYS (not expected on Linux, where
 * TCP sockets and pipes support it since 2.6.25; a message on stderr says so). SIGPIPE is
 * ignored: a splice into a socket whose peer went away gives EPIPE (splice has no
 * MSG_NOSIGNAL).
 */
#define _GNU_SOURCE /* splice, pipe2, F_SETPIPE_SZ */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h> /* isfinite, a macro: no -lm needed */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)            /* largest read on the copying path */
#define PIPE_SIZE (1024 * 1024)       /* wanted pipe capacity: the largest spliced chunk */
#define MAX_QUEUED (64 * 1024 * 1024) /* bytes held per direction before the reader pauses */
#define POOL_MAX 64                   /* idle pipes kept for reuse (2 descriptors each) */
#define FD_RESERVE 256                /* descriptors pipes leave to the sockets */

struct chunk {
    struct chunk *next;
    struct timespec due;
    size_t len;
    int pipe[2]; /* the bytes wait in this pipe, or, when pipe[0] < 0, in data */
    char data[];
};

struct conn;

struct pump { /* one direction of a connection */
    struct conn *conn;
    int in, out;
    pthread_mutex_t lock;
    pthread_cond_t more, room; /* a chunk was queued or the input ended / room in the queue */
    struct chunk *head, *tail;
    size_t queued;
    int eof;  /* the reader saw the end of its input */
    int dead; /* the connection failed: stop without passing anything on */
};

struct conn {
    int client, server;
    struct pump up, down; /* client -> server, server -> client */
    pthread_mutex_t lock;
    int threads; /* still running; the last one frees the connection */
};

static long long delay_ns;
static struct sockaddr_in target;

/* The pipe pool, shared by all connections. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static int pool[POOL_MAX][2], pool_len;
static int pipes_open;        /* in the pool or owned by a chunk */
static int pipe_budget;       /* most pipes open at once (set in main) */
static int pipe_size;         /* for F_SETPIPE_SZ (set in main) */
static int splice_usable = 1; /* cleared for good by an EINVAL / ENOSYS from splice() */

/* A pipe for a new chunk in fds, from the pool or new: 0. -1 when the chunk must be copied
 * (splice unusable, too many pipes open, or pipe2 failed, e.g. out of descriptors). */
static int pipe_get(int fds[2])
{
    pthread_mutex_lock(&pool_lock);
    int ok = splice_usable && (pool_len > 0 || pipes_open < pipe_budget);
    if (ok && pool_len > 0) {
        pool_len--;
        fds[0] = pool[pool_len][0];
        fds[1] = pool[pool_len][1];
        pthread_mutex_unlock(&pool_lock);
        return 0;
    }
    if (ok) {
        pipes_open++;
    }
    pthread_mutex_unlock(&pool_lock);
    if (!ok) {
        return -1;
    }
    if (pipe2(fds, O_CLOEXEC) != 0) {
        pthread_mutex_lock(&pool_lock);
        pipes_open--;
        pthread_mutex_unlock(&pool_lock);
        return -1;
    }
    /* Refused (an unprivileged user past /proc/sys/fs/pipe-user-pages-soft only gets pipes of
     * 2 pages): copying this chunk is cheaper than a chunk for every page or two. */
    if (fcntl(fds[1], F_SETPIPE_SZ, pipe_size) < 0) {
        pthread_mutex_lock(&pool_lock);
        pipes_open--;
        pthread_mutex_unlock(&pool_lock);
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    return 0;
}

/* Gives a chunk's pipe back: into the pool if it is known to be empty and there is room,
 * else closed (a pipe still holding bytes of a failed connection must not be reused). */
static void pipe_put(int fds[2], int empty)
{
    pthread_mutex_lock(&pool_lock);
    if (empty && splice_usable && pool_len < POOL_MAX) {
        pool[pool_len][0] = fds[0];
        pool[pool_len][1] = fds[1];
        pool_len++;
        pthread_mutex_unlock(&pool_lock);
        return;
    }
    pipes_open--;
    pthread_mutex_unlock(&pool_lock);
    close(fds[0]);
    close(fds[1]);
}

/* splice() said EINVAL or ENOSYS: copy through user space from now on (chunks already in
 * pipes are still passed on, by read() and send() if splicing out fails too). */
static void splice_failed(void)
{
    pthread_mutex_lock(&pool_lock);
    if (splice_usable) {
        splice_usable = 0;
        fprintf(stderr, "latency_proxy: splice() not usable (%s); copying the bytes instead\n",
                strerror(errno));
    }
    while (pool_len > 0) {
        pool_len--;
        pipes_open--;
        close(pool[pool_len][0]);
        close(pool[pool_len][1]);
    }
    pthread_mutex_unlock(&pool_lock);
}

/* An error on either side ends the whole connection. shutdown() rather than close(): other
 * threads may be blocked on these descriptors (shutdown wakes them), and a closed number could
 * be reused by the next accept() under them; the last thread closes them. */
static void conn_fail(struct conn *c)
{
    struct pump *ps[2] = {&c->up, &c->down};
    shutdown(c->client, SHUT_RDWR);
    shutdown(c->server, SHUT_RDWR);
    for (int i = 0; i < 2; i++) {
        pthread_mutex_lock(&ps[i]->lock);
        ps[i]->dead = 1;
        pthread_cond_broadcast(&ps[i]->more);
        pthread_cond_broadcast(&ps[i]->room);
        pthread_mutex_unlock(&ps[i]->lock);
    }
}

static void chunk_free(struct chunk *k, int sent)
{
    if (k->pipe[0] >= 0) {
        pipe_put(k->pipe, sent);
    }
    free(k);
}

static void conn_release(struct conn *c)
{
    struct pump *ps[2] = {&c->up, &c->down};
    pthread_mutex_lock(&c->lock);
    int last = --c->threads == 0;
    pthread_mutex_unlock(&c->lock);
    if (!last) {
        return;
    }
    close(c->client);
    close(c->server);
    for (int i = 0; i < 2; i++) {
        while (ps[i]->head) { /* left over when the connection failed */
            struct chunk *k = ps[i]->head;
            ps[i]->head = k->next;
            chunk_free(k, 0);
        }
        pthread_mutex_destroy(&ps[i]->lock);
        pthread_cond_destroy(&ps[i]->more);
        pthread_cond_destroy(&ps[i]->room);
    }
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* Reads the next chunk from in: its length (> 0), 0 at the end of the input, -1 on an error,
 * with *out the chunk (a pipe's or a buffer's). NULL with a length <= 0. */
static ssize_t read_chunk(int in, struct chunk **out)
{
    struct chunk *k;
    ssize_t n;
    int fds[2];
    *out = NULL;
    while (pipe_get(fds) == 0) {
        k = malloc(sizeof *k);
        if (!k) {
            pipe_put(fds, 1);
            return -1;
        }
        do {
            n = splice(in, NULL, fds[1], NULL, PIPE_SIZE, SPLICE_F_MOVE);
        } while (n < 0 && errno == EINTR);
        if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
            splice_failed(); /* then pipe_get fails: the copying path below */
            pipe_put(fds, 1);
            free(k);
            continue;
        }
        if (n <= 0) { /* nothing was moved: the pipe is still empty */
            pipe_put(fds, 1);
            free(k);
            return n;
        }
        k->pipe[0] = fds[0];
        k->pipe[1] = fds[1];
        *out = k;
        return n;
    }
    k = malloc(sizeof *k + CHUNK);
    if (!k) {
        return -1;
    }
    do {
        n = recv(in, k->data, CHUNK, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        free(k);
        return n;
    }
    if (n < CHUNK / 4) { /* small reads (IMAP commands) should not each pin 256 KiB */
        struct chunk *smaller = realloc(k, sizeof *k + (size_t)n);
        if (smaller) {
            k = smaller;
        }
    }
    k->pipe[0] = k->pipe[1] = -1;
    *out = k;
    return n;
}

static void *reader(void *arg)
{
    struct pump *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (p->queued >= MAX_QUEUED && !p->dead) {
            pthread_cond_wait(&p->room, &p->lock);
        }
        int dead = p->dead;
        pthread_mutex_unlock(&p->lock);
        if (dead) {
            break;
        }
        struct chunk *k;
        ssize_t n = read_chunk(p->in, &k);
        if (n <= 0) {
            if (n < 0) {
                conn_fail(p->conn);
            }
            break;
        }
        /* Due D after the bytes arrived (not after the previous chunk was written), on the
         * monotonic clock: the writer sleeps to this absolute time, so delays do not add up. */
        struct timespec due;
        clock_gettime(CLOCK_MONOTONIC, &due);
        due.tv_sec += (time_t)(delay_ns / 1000000000);
        due.tv_nsec += (long)(delay_ns % 1000000000);
        if (due.tv_nsec >= 1000000000) {
            due.tv_sec++;
            due.tv_nsec -= 1000000000;
        }
        k->next = NULL;
        k->due = due;
        k->len = (size_t)n;
        pthread_mutex_lock(&p->lock);
        if (p->tail) {
            p->tail->next = k;
        } else {
            p->head = k;
        }
        p->tail = k;
        p->queued += k->len;
        pthread_cond_signal(&p->more);
        pthread_mutex_unlock(&p->lock);
    }
    pthread_mutex_lock(&p->lock);
    p->eof = 1;
    pthread_cond_signal(&p->more);
    pthread_mutex_unlock(&p->lock);
    conn_release(p->conn);
    return NULL;
}

static int send_all(int out, const char *data, size_t len)
{
    for (size_t off = 0; off < len;) {
        /* MSG_NOSIGNAL: a peer that went away gives EPIPE, not a SIGPIPE */
        ssize_t n = send(out, data + off, len - off, MSG_NOSIGNAL);
        if (n >= 0) {
            off += (size_t)n;
        } else if (errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

/* Passes the chunk on: 0, or -1 when out failed. */
static int write_chunk(int out, struct chunk *k)
{
    if (k->pipe[0] < 0) {
        return send_all(out, k->data, k->len);
    }
    size_t left = k->len; /* what the pipe holds */
    while (left > 0) {
        ssize_t n = splice(k->pipe[0], NULL, out, NULL, left, SPLICE_F_MOVE);
        if (n > 0) {
            left -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EINVAL || errno == ENOSYS)) {
            splice_failed();
            while (left > 0) { /* the rest through user space */
                char buf[64 * 1024];
                n = read(k->pipe[0], buf, left < sizeof buf ? left : sizeof buf);
                if (n < 0 && errno == EINTR) {
                    continue;
                }
                if (n <= 0 || send_all(out, buf, (size_t)n) != 0) {
                    return -1;
                }
                left -= (size_t)n;
            }
        } else {
            return -1; /* 0 cannot happen: the pipe holds the bytes */
        }
    }
    return 0;
}

/* Most chunks of a fast transfer are already due when the writer gets to them (7 in 10 in the
 * benchmark's full read): clock_nanosleep() would still arm a timer (on a VM, a trap to the
 * hypervisor), the proxy's largest remaining cost, so the clock is looked at first. */
static void sleep_until(const struct timespec *due)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > due->tv_sec || (now.tv_sec == due->tv_sec && now.tv_nsec >= due->tv_nsec)) {
        return;
    }
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, due, NULL) == EINTR) {
    }
}

static void *writer(void *arg)
{
    struct pump *p = arg;
    int failed = 0, dead = 0;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->head && !p->eof && !p->dead) {
            pthread_cond_wait(&p->more, &p->lock);
        }
        /* Only this thread removes chunks, so the head stays valid after unlocking. */
        struct chunk *k = p->head;
        dead = p->dead;
        pthread_mutex_unlock(&p->lock);
        if (dead || !k) {
            break;
        }
        sleep_until(&k->due);
        if (write_chunk(p->out, k) != 0) {
            failed = 1;
            conn_fail(p->conn); /* the chunk stays queued: conn_release frees it */
            break;
        }
        pthread_mutex_lock(&p->lock);
        p->head = k->next;
        if (!p->head) {
            p->tail = NULL;
        }
        p->queued -= k->len;
        pthread_cond_signal(&p->room);
        pthread_mutex_unlock(&p->lock);
        chunk_free(k, 1);
    }
    if (!failed && !dead) {
        shutdown(p->out, SHUT_WR); /* the input's EOF, passed on after its last bytes */
    }
    conn_release(p->conn);
    return NULL;
}

static void pump_init(struct pump *p, struct conn *c, int in, int out)
{
    p->conn = c;
    p->in = in;
    p->out = out;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->more, NULL);
    pthread_cond_init(&p->room, NULL);
}

static void start_conn(int client)
{
    int server = socket(AF_INET, SOCK_STREAM, 0);
    if (server < 0 || connect(server, (struct sockaddr *)&target, sizeof target) != 0) {
        perror("latency_proxy: connect to the target");
        close(client);
        if (server >= 0) {
            close(server);
        }
        return;
    }
    /* As asyncio does: a chunk that is due leaves at once, without waiting for the ACK of the
     * previous small one (Nagle), which would add its own delay to the round trips. */
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    struct conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(client);
        close(server);
        return;
    }
    c->client = client;
    c->server = server;
    c->threads = 4;
    pthread_mutex_init(&c->lock, NULL);
    pump_init(&c->up, c, client, server);
    pump_init(&c->down, c, server, client);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    void *(*fns[4])(void *) = {reader, writer, reader, writer};
    struct pump *args[4] = {&c->up, &c->up, &c->down, &c->down};
    for (int i = 0; i < 4; i++) {
        pthread_t t;
        if (pthread_create(&t, &attr, fns[i], args[i]) != 0) {
            fprintf(stderr, "latency_proxy: cannot start a thread\n");
            conn_fail(c);
            for (; i < 4; i++) { /* the threads that did not start */
                conn_release(c);
            }
        }
    }
    pthread_attr_destroy(&attr);
}

static void *acceptor(void *arg)
{
    int listener = *(int *)arg;
    for (;;) {
        int client = accept(listener, NULL, NULL);
        if (client >= 0) {
            start_conn(client);
        } else if (errno != EINTR && errno != ECONNABORTED) {
            perror("latency_proxy: accept");
            struct timespec pause = {0, 100000000}; /* e.g. out of descriptors: do not spin */
            nanosleep(&pause, NULL);
        }
    }
    return NULL;
}

static void usage(const char *why)
{
    fprintf(stderr, "latency_proxy: %s\nusage: latency_proxy --target-port P --delay-ms D "
            "[--port-file F] [--max-seconds S] [--listen-port L]\n", why);
    exit(2);
}

static double number(const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v)) {
        usage("bad number");
    }
    return v;
}

static int port_number(const char *s, int min)
{
    double v = number(s);
    if (v < min || v > 65535 || v != (int)v) {
        usage("bad port");
    }
    return (int)v;
}

/* The pipe size and how many pipes may be open, from the system's limits. */
static void pipe_limits(void)
{
    pipe_size = PIPE_SIZE;
    FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");
    long max;
    if (f) {
        if (fscanf(f, "%ld", &max) == 1 && max > 0 && max < pipe_size) {
            pipe_size = (int)max;
        }
        fclose(f);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        pipe_budget = 0; /* unknown: copy everything */
        return;
    }
    if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < 65536) { /* more room for pipes if allowed */
        rlim_t old = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            rl.rlim_cur = old;
        }
    }
    pipe_budget = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 65536 ? 32768
                  : rl.rlim_cur > FD_RESERVE ? (int)(rl.rlim_cur - FD_RESERVE) / 2 : 0;
}

int main(int argc, char **argv)
{
    int target_port = 0, listen_port = 0;
    double delay_ms = -1, max_seconds = 3600;
    const char *port_file = NULL;
    for (int i = 1; i < argc; i++) { /* --name VALUE or --name=VALUE, like argparse */
        static const char *names[] = {"--target-port", "--delay-ms", "--port-file",
                                      "--max-seconds", "--listen-port"};
        const char *value = NULL;
        int which = -1;
        for (int j = 0; j < 5 && which < 0; j++) {
            size_t len = strlen(names[j]);
            if (strcmp(argv[i], names[j]) == 0 && i + 1 < argc) {
                which = j;
                value = argv[++i];
            } else if (strncmp(argv[i], names[j], len) == 0 && argv[i][len] == '=') {
                which = j;
                value = argv[i] + len + 1;
            }
        }
        switch (which) {
        case 0: target_port = port_number(value, 1); break;
        case 1: delay_ms = number(value); break;
        case 2: port_file = value; break;
        case 3: max_seconds = number(value); break;
        case 4: listen_port = port_number(value, 0); break;
        default: usage("unknown or incomplete argument");
        }
    }
    if (target_port == 0 || delay_ms < 0 || delay_ms > 1e9 || max_seconds <= 0
        || max_seconds > 1e9) {
        usage("--target-port and --delay-ms are required; delay or time out of range");
    }
    delay_ns = (long long)(delay_ms * 1e6 + 0.5);
    target.sin_family = AF_INET;
    target.sin_port = htons((unsigned short)target_port);
    target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    pipe_limits();

    /* A splice() into a socket whose peer went away raises SIGPIPE (there is no MSG_NOSIGNAL
     * for it): ignored, the splice fails with EPIPE and the connection ends. */
    struct sigaction ignore;
    memset(&ignore, 0, sizeof ignore);
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGPIPE, &ignore, NULL);

    /* SIGTERM / SIGINT are blocked in every thread (they inherit this mask) and taken by
     * sigtimedwait() below, which also times --max-seconds: no signal handler races. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    struct sockaddr_in addr = target;
    addr.sin_port = htons((unsigned short)listen_port);
    socklen_t addr_len = sizeof addr;
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0
        || listen(listener, 128) != 0
        || getsockname(listener, (struct sockaddr *)&addr, &addr_len) != 0) {
        perror("latency_proxy: listen on 127.0.0.1");
        return 1;
    }
    int port = ntohs(addr.sin_port);
    if (port_file) { /* written whole, then renamed: a poller never reads half a number */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
        FILE *f = fopen(tmp, "w");
        if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, port_file) != 0) {
            perror("latency_proxy: write the port file");
            return 1;
        }
    }
    printf("latency_proxy: 127.0.0.1:%d -> 127.0.0.1:%d, +%g ms each way\n", port, target_port,
           delay_ms);
    fflush(stdout);

    pthread_t t;
    if (pthread_create(&t, NULL, acceptor, &listener) != 0) {
        fprintf(stderr, "latency_proxy: cannot start a thread\n");
        return 1;
    }
    struct timespec now, end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += (time_t)max_seconds;
    end.tv_nsec += (long)((max_seconds - (double)(time_t)max_seconds) * 1e9);
    if (end.tv_nsec >= 1000000000) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000;
    }
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        struct timespec left = {end.tv_sec - now.tv_sec, end.tv_nsec - now.tv_nsec};
        if (left.tv_nsec < 0) {
            left.tv_sec--;
            left.tv_nsec += 1000000000;
        }
        if (left.tv_sec < 0) {
            fprintf(stderr, "latency_proxy: --max-seconds reached, exiting\n");
            break;
        }
        if (sigtimedwait(&stop, NULL, &left) >= 0) {
            break; /* SIGTERM or SIGINT */
        }
    }
    /* _exit: the other threads may be inside the C library; the kernel closes every socket. */
    _exit(0);
}
