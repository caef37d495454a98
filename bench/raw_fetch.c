/*
 * raw_fetch - the lower bound of the imapmail benchmark: logs in to an IMAP server over a
 * plain TCP connection, sends one UID FETCH for the whole INBOX and reads the answer with as
 * little work as possible (no parsing beyond finding line ends and skipping literals).
 *
 *   usage: raw_fetch HOST PORT USER full|headers
 *          raw_fetch HOST PORT USER batched BATCH AHEAD
 *
 *   full     UID FETCH 1:* BODY.PEEK[]
 *   headers  UID FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER])
 *   batched  a diagnostic, not a lower bound: FETCH n:m BODY.PEEK[] in batches of BATCH
 *            messages with AHEAD more commands sent before the first answer is read, a new one
 *            sent as each command completes (the way a client paces a pipeline by tagged
 *            completions). Also prints how many completions arrived only after data of a
 *            later command ("late"): a server that defers them (Dovecot does until its command
 *            queue is empty) makes such a client send bursts and wait a round trip per burst.
 *
 * The password is read from the environment variable IMAPMAIL_PASSWORD. The folder is opened
 * with EXAMINE (read-only). Prints "messages=N bytes=B literal_bytes=L" on success.
 * Exit status: 0 on success, 1 on a failure, 2 on a usage error.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define BUF_SIZE (1 << 20)

static int fd = -1;
static char buf[BUF_SIZE];
static size_t beg, end;
static uint64_t total_bytes;

static char *line;
static size_t line_len, line_cap;

static void die(const char *what)
{
    fprintf(stderr, "raw_fetch: %s\n", what);
    exit(1);
}

/* Reads more bytes into buf (keeping the unread ones). */
static void fill(void)
{
    ssize_t n;
    if (beg == end) {
        beg = end = 0;
    } else if (end == sizeof buf) {
        memmove(buf, buf + beg, end - beg);
        end -= beg;
        beg = 0;
    }
    do {
        n = read(fd, buf + end, sizeof buf - end);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        die("read failed");
    }
    if (n == 0) {
        die("connection closed by the server");
    }
    end += (size_t)n;
    total_bytes += (uint64_t)n;
}

/* Reads one line (with its CRLF) into `line`. */
static void read_line(void)
{
    line_len = 0;
    for (;;) {
        char *nl;
        size_t take;
        if (beg == end) {
            fill();
        }
        nl = memchr(buf + beg, '\n', end - beg);
        take = nl ? (size_t)(nl - (buf + beg)) + 1 : end - beg;
        if (line_len + take + 1 > line_cap) {
            line_cap = (line_len + take + 1) * 2;
            line = realloc(line, line_cap);
            if (!line) {
                die("out of memory");
            }
        }
        memcpy(line + line_len, buf + beg, take);
        line_len += take;
        beg += take;
        if (nl) {
            line[line_len] = '\0';
            return;
        }
    }
}

/* Consumes n bytes of a literal without looking at them. */
static void skip(uint64_t n)
{
    while (n > 0) {
        size_t avail;
        if (beg == end) {
            fill();
        }
        avail = end - beg;
        if ((uint64_t)avail > n) {
            avail = (size_t)n;
        }
        beg += avail;
        n -= avail;
    }
}

/* The length of the literal announced at the end of `line` ("{N}\r\n"), or -1. */
static long long literal_at_end(void)
{
    size_t i;
    if (line_len < 5 || memcmp(line + line_len - 3, "}\r\n", 3) != 0) {
        return -1;
    }
    i = line_len - 3;
    while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9') {
        i--;
    }
    if (i == 0 || i == line_len - 3 || line[i - 1] != '{') {
        return -1;
    }
    return strtoll(line + i, NULL, 10);
}

static void send_all(const char *s)
{
    size_t len = strlen(s), off = 0;
    while (off < len) {
        ssize_t n = write(fd, s + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            die("write failed");
        }
        off += (size_t)n;
    }
}

/* The folder size from the last "* N EXISTS" read, or -1. */
static long exists = -1;

/* Skips the literals that `line` and the lines after it announce: a response continues after
 * each literal until a line without one. Adds their sizes to *literal_bytes (if not NULL). */
static void skip_literals(uint64_t *literal_bytes)
{
    long long lit;
    while ((lit = literal_at_end()) >= 0) {
        skip((uint64_t)lit);
        if (literal_bytes) {
            *literal_bytes += (uint64_t)lit;
        }
        read_line();
    }
}

/* Reads responses until the tagged one; counts untagged FETCH responses and literal bytes,
 * notes "* N EXISTS". Returns 0 when the tagged status is OK. */
static int read_until_tagged(const char *tag, uint64_t *fetches, uint64_t *literal_bytes)
{
    size_t tag_len = strlen(tag);
    for (;;) {
        read_line();
        if (line_len > tag_len && memcmp(line, tag, tag_len) == 0 && line[tag_len] == ' ') {
            return strncmp(line + tag_len + 1, "OK", 2) == 0 ? 0 : -1;
        }
        if (fetches && line_len > 2 && line[0] == '*' && strstr(line, " FETCH ") != NULL) {
            (*fetches)++;
        }
        if (line[0] == '*' && strstr(line, " EXISTS") != NULL) {
            exists = strtol(line + 1, NULL, 10);
        }
        skip_literals(literal_bytes);
    }
}

/* Reads one response (with its literals); returns the number of the batch command ("bN") it
 * completes, or -1 for an untagged response. Counts FETCH responses and literal bytes, and
 * sets *fetch_seen when the response was a FETCH. */
static long read_batched_response(uint64_t *fetches, uint64_t *literal_bytes, int *fetch_seen)
{
    read_line();
    if (line_len > 2 && line[0] == 'b' && line[1] >= '0' && line[1] <= '9') {
        if (strstr(line, " OK") == NULL) {
            die("a batch FETCH failed");
        }
        return strtol(line + 1, NULL, 10);
    }
    *fetch_seen = line_len > 2 && line[0] == '*' && strstr(line, " FETCH ") != NULL;
    if (*fetch_seen) {
        (*fetches)++;
    }
    skip_literals(literal_bytes);
    return -1;
}

/* The "batched" mode (see the top of the file) on the EXAMINEd folder of `messages` messages. */
static void fetch_batched(long messages, long batch, long ahead, uint64_t *fetches,
                          uint64_t *literal_bytes)
{
    long sent = 0, done = 0, next = 1, late = 0, total = (messages + batch - 1) / batch;
    long data_of = -1; /* the newest command whose data has been seen */
    char cmd[128];
    while (done < total) {
        int fetch_seen = 0;
        long completed;
        while (sent < total && sent - done <= ahead) {
            long last = next + batch - 1 < messages ? next + batch - 1 : messages;
            snprintf(cmd, sizeof cmd, "b%ld FETCH %ld:%ld BODY.PEEK[]\r\n", sent, next, last);
            send_all(cmd);
            sent++;
            next = last + 1;
        }
        completed = read_batched_response(fetches, literal_bytes, &fetch_seen);
        if (fetch_seen) {
            /* Servers answer pipelined FETCH commands in order: a FETCH past the messages of
             * the commands completed so far belongs to a later command. */
            long of = (long)((*fetches - 1) / (uint64_t)batch);
            if (of > data_of) {
                data_of = of;
            }
        }
        if (completed >= 0) {
            if (completed < data_of) {
                late++;
            }
            done++;
        }
    }
    fprintf(stderr, "raw_fetch: batched %ld x %ld ahead: %ld commands, %ld completions late\n",
            batch, ahead, total, late);
}

/* An IMAP quoted string (the password and user of the benchmark are plain ASCII). */
static void quoted(char *out, size_t size, const char *s)
{
    size_t o = 0;
    out[o++] = '"';
    for (; *s && o + 3 < size; s++) {
        if (*s == '"' || *s == '\\') {
            out[o++] = '\\';
        }
        out[o++] = *s;
    }
    out[o++] = '"';
    out[o] = '\0';
}

int main(int argc, char **argv)
{
    const char *host, *port, *user, *mode, *password, *items;
    struct addrinfo hints, *res = NULL;
    char cmd[2048], quser[512], qpass[512];
    uint64_t fetches = 0, literal_bytes = 0;

    long batch = 0, ahead = 0;
    if (argc != 5 && !(argc == 7 && strcmp(argv[4], "batched") == 0)) {
        fprintf(stderr,
                "usage: %s HOST PORT USER full|headers|(batched BATCH AHEAD) (password in "
                "IMAPMAIL_PASSWORD)\n",
                argv[0]);
        return 2;
    }
    if (argc == 7) {
        batch = strtol(argv[5], NULL, 10);
        ahead = strtol(argv[6], NULL, 10);
        if (batch < 1 || ahead < 0 || ahead > 1000) {
            fprintf(stderr, "raw_fetch: BATCH must be >= 1 and AHEAD 0..1000\n");
            return 2;
        }
    }
    host = argv[1];
    port = argv[2];
    user = argv[3];
    mode = argv[4];
    password = getenv("IMAPMAIL_PASSWORD");
    if (!password) {
        fprintf(stderr, "raw_fetch: IMAPMAIL_PASSWORD is not set\n");
        return 2;
    }
    if (strcmp(mode, "full") == 0) {
        items = "BODY.PEEK[]";
    } else if (strcmp(mode, "headers") == 0) {
        items = "(UID FLAGS RFC822.SIZE BODY.PEEK[HEADER])";
    } else if (strcmp(mode, "batched") == 0) {
        items = "BODY.PEEK[]";
    } else {
        fprintf(stderr, "raw_fetch: mode must be full, headers or batched\n");
        return 2;
    }

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res) {
        die("cannot resolve the host");
    }
    fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        die("cannot connect");
    }
    freeaddrinfo(res);

    read_line(); /* greeting */
    if (strncmp(line, "* OK", 4) != 0) {
        die("unexpected greeting");
    }
    quoted(quser, sizeof quser, user);
    quoted(qpass, sizeof qpass, password);
    snprintf(cmd, sizeof cmd, "a1 LOGIN %s %s\r\n", quser, qpass);
    send_all(cmd);
    if (read_until_tagged("a1", NULL, NULL) != 0) {
        die("LOGIN failed");
    }
    send_all("a2 EXAMINE INBOX\r\n");
    if (read_until_tagged("a2", NULL, NULL) != 0) {
        die("EXAMINE failed");
    }
    if (batch > 0) {
        if (exists < 1) {
            die("the folder is empty or its size was not announced");
        }
        fetch_batched(exists, batch, ahead, &fetches, &literal_bytes);
    } else {
        snprintf(cmd, sizeof cmd, "a3 UID FETCH 1:* %s\r\n", items);
        send_all(cmd);
        if (read_until_tagged("a3", &fetches, &literal_bytes) != 0) {
            die("UID FETCH failed");
        }
    }
    send_all("a4 LOGOUT\r\n");
    (void)read_until_tagged("a4", NULL, NULL);
    close(fd);
    printf("messages=%llu bytes=%llu literal_bytes=%llu\n", (unsigned long long)fetches,
           (unsigned long long)total_bytes, (unsigned long long)literal_bytes);
    free(line);
    return 0;
}
