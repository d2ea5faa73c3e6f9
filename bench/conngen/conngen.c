/*
 * conngen: the load generator of midge's "connections" benchmark scenario (a connection storm).
 *
 * It opens COUNT MQTT 3.1.1 clients against one broker, over TCP or WebSocket, with at most
 * CONCURRENCY handshakes under way at once. One handshake: TCP connect [+ HTTP upgrade with
 * "Sec-WebSocket-Protocol: mqtt", status 101 required] + CONNECT (clean session, keep alive 0,
 * client id bench-conn-<i>) -> CONNACK return code 0 -> SUBSCRIBE conn/<i> at QoS 0, packet id 1 ->
 * SUBACK not 0x80. Then all the clients are held idle while the parent samples the broker's RSS, and
 * closed. It does exactly what runConnections() in bench/lib/generator.ts does, and prints the same
 * lines, so bench/lib/run-one.ts can run either (BENCH_CONNGEN=node picks the Node one).
 *
 * Why C: Node.js spends ~180 us of its own CPU setting up each client socket (net.Socket, handles,
 * promises), so the Node generator was the bottleneck of this scenario (85-95 % of its core while the
 * broker used far less). The benchmark's rule is that the load generator never is. Here a client is a
 * few syscalls and a ~300-byte struct: one epoll loop, non-blocking sockets, libc only.
 *
 * Usage:
 *   conngen HOST PORT tcp|ws WS_PATH COUNT CONCURRENCY CONNECT_PHASE_MS IDLE_HOLD_MS
 * e.g. conngen 127.0.0.1 1883 tcp /mqtt 5000 200 30000 500 (WS_PATH is ignored over tcp).
 *
 * Output: one line per event on stdout, "@@bench " + JSON, flushed at once (the parent reads a pipe):
 *   {"event":"measure-start"}  before the first connect (then 200 ms pass: the parent's RSS sample)
 *   {"event":"idle"}           1 s after the last SUBACK (the parent's second RSS sample)
 *   {"event":"measure-end"}    IDLE_HOLD_MS later
 *   {"event":"result","result":{...}}  a GeneratorResult (bench/lib/generator.ts); ok false with
 *                              failedStage "subscribers" if the clients could not all be opened
 *   {"event":"fatal","error":"..."}    bad arguments, no resources, or the hard time limit
 * Exit status: 0 after a result line (ok or not), 2 bad arguments or resources, 3 hard limit.
 *
 * Every wait is bounded: the connect phase by CONNECT_PHASE_MS (then the result says how many were
 * open and what was under way), the whole run by a hard limit (SIGALRM) well beyond the sum of phases.
 *
 * Build: cc -std=gnu11 -O2 -Wall -Wextra -Werror -o conngen conngen.c (bench/lib/conngen.ts does it).
 */

#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LINE_PREFIX "@@bench "
#define SATURATION_PERCENT 90.0 /* the generator counts as saturated above this share of a core */
#define BEFORE_SAMPLE_MS 200    /* after measure-start, before the first connect */
#define SETTLE_MS 1000          /* after the last SUBACK, before "idle" */
#define HARD_LIMIT_SLACK_MS 5000

#define MAX_COUNT 1000000
#define MAX_HOST_LEN 255
#define MAX_PATH_LEN 1024
#define FD_SLACK 64 /* stdio, the epoll fd, whatever the C library opens */

#define READ_BUFFER_BYTES 65536
#define MAX_EVENTS 512
#define MAX_PENDING_BYTES 8192 /* most bytes one client may have waiting to be written */
#define HTTP_HEADER_MAX 8192   /* longest upgrade response accepted */
#define STATUS_LINE_MAX 96     /* kept of its first line, for the error message */
#define WS_CONTROL_MAX 125     /* RFC 6455 5.5: control frame payloads */
#define MQTT_BODY_KEPT 4       /* CONNACK needs 2 body bytes, SUBACK 3; the rest is skipped */
#define MAX_REASONS 5
#define REASON_MAX 160
#define MESSAGE_MAX 512

/* RFC 6455 5.3: client frames must be masked; any key will do. The same as lib/ws-frames.ts. */
static const uint8_t MASK_KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

/* MQTT control packet types (high nibble of the first byte). */
enum { MQTT_CONNACK = 2, MQTT_SUBACK = 9 };

/* WebSocket opcodes. */
enum { WS_CONTINUATION = 0x0, WS_TEXT = 0x1, WS_BINARY = 0x2, WS_CLOSE = 0x8, WS_PING = 0x9, WS_PONG = 0xa };

/* Where a client is; everything before ST_IDLE is the handshake. */
enum stage { ST_CONNECTING, ST_UPGRADING, ST_CONNACK, ST_SUBACK, ST_IDLE, ST_CLOSED };

/* The HTTP response to the upgrade, read as it comes: only its first line is kept. */
struct http_reader {
  uint32_t bytes;  /* header bytes seen */
  uint8_t matched; /* bytes of "\r\n\r\n" matched so far */
  bool status_done;
  uint8_t status_len;
  char status[STATUS_LINE_MAX];
};

/* The server's WebSocket frames (unmasked), unwrapped across reads. */
struct ws_reader {
  uint8_t head[14]; /* frame header bytes collected so far */
  uint8_t head_len;
  bool in_payload;
  uint8_t opcode;
  uint8_t control_len;
  uint64_t remaining; /* payload bytes of the current frame still to come */
  uint8_t control[WS_CONTROL_MAX];
};

/* MQTT packets, walked by their fixed headers across reads (or WebSocket frames). */
enum { M_HEADER, M_LENGTH, M_BODY };
struct mqtt_reader {
  uint8_t stage;
  uint8_t type;
  uint8_t length_bytes;
  uint8_t kept;
  uint32_t length;    /* remaining length of the current packet */
  uint32_t remaining; /* body bytes still to come */
  uint8_t body[MQTT_BODY_KEPT];
};

struct client {
  int fd;
  uint32_t index;
  enum stage stage;
  uint8_t *pending; /* bytes a write could not take yet (NULL when none) */
  uint32_t pending_len, pending_off;
  struct http_reader http;
  struct ws_reader ws;
  struct mqtt_reader mqtt;
};

struct config {
  const char *host;
  unsigned port;
  bool ws;
  const char *path;
  uint32_t count;
  uint32_t concurrency;
  int64_t connect_phase_ms;
  int64_t idle_hold_ms;
};

/* Connections the broker closed (or broke) before we did, as GeneratorResult reports them. */
struct closes {
  uint32_t count;
  double first_ms; /* from the start of the connect phase */
  uint32_t reasons_len;
  char reasons[MAX_REASONS][REASON_MAX];
};

static struct config cfg;
static struct sockaddr_storage target;
static socklen_t target_len;
static int epfd = -1;
static struct client *clients;
static uint32_t started;    /* clients whose handshake has begun */
static uint32_t subscribed; /* clients whose handshake completed (SUBACK) */
static bool in_connect_phase;
static bool failed;
static char failure[MESSAGE_MAX];
static struct closes closes;
static double t0; /* start of the connect phase, ms (CLOCK_MONOTONIC) */
static uint64_t rng_state;
static uint8_t read_buffer[READ_BUFFER_BYTES];
static char hard_limit_line[256];
static size_t hard_limit_line_len;

/* ---------------------------------------------------------------------------------------------- */
/* Time, output                                                                                   */
/* ---------------------------------------------------------------------------------------------- */

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static double cpu_ms(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

/* A growable-within-bounds text buffer: appends that do not fit are cut, never overflow. */
struct text {
  char data[8192];
  size_t len;
};

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_printf(struct text *t, const char *fmt, ...) {
  if (t->len >= sizeof t->data - 1) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->data + t->len, sizeof t->data - t->len, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  t->len += (size_t)n;
  if (t->len > sizeof t->data - 1) t->len = sizeof t->data - 1;
}

/* Appends s as a JSON string (quoted; quote, backslash and control characters escaped). */
static void text_json_string(struct text *t, const char *s) {
  text_printf(t, "\"");
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
    if (*p == '"' || *p == '\\') text_printf(t, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f) text_printf(t, "\\u%04x", *p);
    else text_printf(t, "%c", *p);
  }
  text_printf(t, "\"");
}

static void emit_line(const char *json) {
  fputs(LINE_PREFIX, stdout);
  fputs(json, stdout);
  fputc('\n', stdout);
  fflush(stdout);
}

static void emit_event(const char *name) {
  struct text t = {.len = 0};
  text_printf(&t, "{\"event\":");
  text_json_string(&t, name);
  text_printf(&t, "}");
  emit_line(t.data);
}

static void fatal(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void fatal(int status, const char *fmt, ...) {
  char message[MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(message, sizeof message, fmt, ap);
  va_end(ap);
  struct text t = {.len = 0};
  text_printf(&t, "{\"event\":\"fatal\",\"error\":");
  text_json_string(&t, message);
  text_printf(&t, "}");
  emit_line(t.data);
  fprintf(stderr, "conngen: %s\n", message);
  exit(status);
}

/* SIGALRM: the run overran every bound. write(2) and _exit(2) only (async-signal-safe). */
static void on_hard_limit(int sig) {
  (void)sig;
  ssize_t ignored = write(STDOUT_FILENO, hard_limit_line, hard_limit_line_len);
  (void)ignored;
  _exit(3);
}

static void arm_hard_limit(int64_t ms) {
  /* Starts with a newline: the signal may land in the middle of a line being printed. */
  int n = snprintf(hard_limit_line, sizeof hard_limit_line,
                   "\n" LINE_PREFIX
                   "{\"event\":\"fatal\",\"error\":\"generator exceeded its %lld ms limit\"}\n",
                   (long long)ms);
  hard_limit_line_len = n > 0 && (size_t)n < sizeof hard_limit_line ? (size_t)n : 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_hard_limit;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it;
  memset(&it, 0, sizeof it);
  it.it_value.tv_sec = ms / 1000;
  it.it_value.tv_usec = (ms % 1000) * 1000;
  setitimer(ITIMER_REAL, &it, NULL);
}

/* ---------------------------------------------------------------------------------------------- */
/* Setup: arguments, address, file descriptor limit                                               */
/* ---------------------------------------------------------------------------------------------- */

static bool parse_number(const char *s, int64_t min, int64_t max, int64_t *out) {
  if (s == NULL || *s == '\0') return false;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || end == NULL || *end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

#define USAGE "usage: conngen HOST PORT tcp|ws WS_PATH COUNT CONCURRENCY CONNECT_PHASE_MS IDLE_HOLD_MS"

static void parse_args(int argc, char **argv) {
  if (argc != 9) fatal(2, USAGE);
  int64_t port, count, concurrency, phase, hold;
  cfg.host = argv[1];
  cfg.path = argv[4];
  if (strlen(cfg.host) == 0 || strlen(cfg.host) > MAX_HOST_LEN) fatal(2, "bad HOST; " USAGE);
  if (!parse_number(argv[2], 1, 65535, &port)) fatal(2, "bad PORT %s; " USAGE, argv[2]);
  if (strcmp(argv[3], "tcp") == 0) cfg.ws = false;
  else if (strcmp(argv[3], "ws") == 0) cfg.ws = true;
  else fatal(2, "bad transport %s (tcp or ws); " USAGE, argv[3]);
  if (cfg.path[0] != '/' || strlen(cfg.path) > MAX_PATH_LEN || strpbrk(cfg.path, " \r\n") != NULL) {
    fatal(2, "bad WS_PATH (must start with /, no spaces); " USAGE);
  }
  if (!parse_number(argv[5], 1, MAX_COUNT, &count)) fatal(2, "bad COUNT %s; " USAGE, argv[5]);
  if (!parse_number(argv[6], 1, MAX_COUNT, &concurrency)) fatal(2, "bad CONCURRENCY %s; " USAGE, argv[6]);
  if (!parse_number(argv[7], 1, 24 * 3600 * 1000, &phase)) fatal(2, "bad CONNECT_PHASE_MS; " USAGE);
  if (!parse_number(argv[8], 0, 24 * 3600 * 1000, &hold)) fatal(2, "bad IDLE_HOLD_MS; " USAGE);
  cfg.port = (unsigned)port;
  cfg.count = (uint32_t)count;
  cfg.concurrency = (uint32_t)concurrency;
  cfg.connect_phase_ms = phase;
  cfg.idle_hold_ms = hold;
}

static void resolve_target(void) {
  char port[8];
  snprintf(port, sizeof port, "%u", cfg.port);
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  int rc = getaddrinfo(cfg.host, port, &hints, &res);
  if (rc != 0 || res == NULL) fatal(2, "cannot resolve %s: %s", cfg.host, gai_strerror(rc));
  if (res->ai_addrlen > sizeof target) fatal(2, "address of %s too long", cfg.host);
  memcpy(&target, res->ai_addr, res->ai_addrlen);
  target_len = res->ai_addrlen;
  freeaddrinfo(res);
}

/* Every client is a socket: make sure COUNT of them fit under RLIMIT_NOFILE, raising it if need be. */
static void raise_fd_limit(void) {
  rlim_t need = (rlim_t)cfg.count + FD_SLACK;
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) fatal(2, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
  if (rl.rlim_cur >= need) return; /* RLIM_INFINITY is the largest value */
  unsigned long long soft = rl.rlim_cur, hard = rl.rlim_max;
  rl.rlim_cur = need;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) rl.rlim_max = need; /* works as root only */
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    fatal(2, "%u clients need %llu file descriptors, but RLIMIT_NOFILE is %llu (hard limit %llu) and could "
             "not be raised (%s): raise it with ulimit -n",
          cfg.count, (unsigned long long)need, soft, hard, strerror(errno));
  }
}

/* ---------------------------------------------------------------------------------------------- */
/* Packets and frames (bytes commented as in bench/lib/mqtt-bytes.ts)                             */
/* ---------------------------------------------------------------------------------------------- */

/* Remaining Length: 7 bits a byte, least significant first, high bit = more. Returns bytes used. */
static size_t put_remaining_length(uint8_t *out, uint32_t length) {
  size_t n = 0;
  do {
    uint8_t digit = length % 128;
    length /= 128;
    if (length > 0) digit |= 0x80;
    out[n++] = digit;
  } while (length > 0 && n < 4);
  return n;
}

/* A 2-byte big-endian length, then the bytes. */
static size_t put_string(uint8_t *out, const char *s, size_t len) {
  out[0] = (uint8_t)(len >> 8);
  out[1] = (uint8_t)(len & 0xff);
  memcpy(out + 2, s, len);
  return 2 + len;
}

/*
 * CONNECT, MQTT 3.1.1: 0x10 | remaining length | 00 04 'MQTT' | 04 (level) | 02 (clean session) |
 * 00 00 (keep alive 0) | client id "bench-conn-<i>". `out` must hold 64 bytes.
 */
static size_t connect_packet(uint8_t *out, uint32_t index) {
  char id[32];
  int id_len = snprintf(id, sizeof id, "bench-conn-%u", index);
  uint32_t remaining = 10 + 2 + (uint32_t)id_len;
  size_t n = 0;
  out[n++] = 0x10;
  n += put_remaining_length(out + n, remaining);
  n += put_string(out + n, "MQTT", 4);
  out[n++] = 0x04;
  out[n++] = 0x02;
  out[n++] = 0x00;
  out[n++] = 0x00;
  n += put_string(out + n, id, (size_t)id_len);
  return n;
}

/*
 * SUBSCRIBE: 0x82 (type 8, flags 0b0010) | remaining length | 00 01 (packet id 1) | topic filter
 * "conn/<i>" | 00 (QoS 0). `out` must hold 64 bytes.
 */
static size_t subscribe_packet(uint8_t *out, uint32_t index) {
  char topic[32];
  int topic_len = snprintf(topic, sizeof topic, "conn/%u", index);
  uint32_t remaining = 2 + 2 + (uint32_t)topic_len + 1;
  size_t n = 0;
  out[n++] = 0x82;
  n += put_remaining_length(out + n, remaining);
  out[n++] = 0x00;
  out[n++] = 0x01;
  n += put_string(out + n, topic, (size_t)topic_len);
  out[n++] = 0x00;
  return n;
}

/*
 * One final client frame: FIN + opcode | 0x80 (masked) + length (7 bits, or 126 + 2 bytes) |
 * masking key | payload XOR key. Returns its size, 0 if it does not fit in `cap`.
 */
static size_t ws_frame(uint8_t *out, size_t cap, uint8_t opcode, const uint8_t *payload, size_t len) {
  size_t head = len < 126 ? 2 : 4;
  if (len > 0xffff || head + 4 + len > cap) return 0;
  out[0] = (uint8_t)(0x80 | opcode);
  if (len < 126) {
    out[1] = (uint8_t)(0x80 | len);
  } else {
    out[1] = 0x80 | 126;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)(len & 0xff);
  }
  memcpy(out + head, MASK_KEY, 4);
  for (size_t i = 0; i < len; i++) out[head + 4 + i] = payload[i] ^ MASK_KEY[i & 3];
  return head + 4 + len;
}

static uint64_t next_random(void) {
  /* xorshift64*: the Sec-WebSocket-Key only has to be 16 bytes, base64; nothing checks its quality. */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dULL;
}

/* 16 random bytes in base64: 22 characters and "==" (the form servers check). `out` holds 25. */
static void websocket_key(char *out) {
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  uint8_t raw[18] = {0};
  uint64_t a = next_random(), b = next_random();
  memcpy(raw, &a, 8);
  memcpy(raw + 8, &b, 8);
  size_t n = 0;
  for (size_t i = 0; i < 18; i += 3) {
    uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
    out[n++] = alphabet[(v >> 18) & 63];
    out[n++] = alphabet[(v >> 12) & 63];
    out[n++] = alphabet[(v >> 6) & 63];
    out[n++] = alphabet[v & 63];
  }
  /* 18 bytes gave 24 characters; the last 2 stand for the 2 padding bytes. */
  out[22] = '=';
  out[23] = '=';
  out[24] = '\0';
}

/* The upgrade request, as lib/ws-frames.ts writes it. Returns its length (0: did not fit). */
static size_t upgrade_request(char *out, size_t cap) {
  char key[25];
  websocket_key(key);
  bool v6 = strchr(cfg.host, ':') != NULL;
  int n = snprintf(out, cap,
                   "GET %s HTTP/1.1\r\n"
                   "Host: %s%s%s:%u\r\n"
                   "Upgrade: websocket\r\n"
                   "Connection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: mqtt\r\n"
                   "\r\n",
                   cfg.path, v6 ? "[" : "", cfg.host, v6 ? "]" : "", cfg.port, key);
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Clients: closing, writing                                                                      */
/* ---------------------------------------------------------------------------------------------- */

static void set_failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void set_failure(const char *fmt, ...) {
  if (failed) return;
  failed = true;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(failure, sizeof failure, fmt, ap);
  va_end(ap);
}

static void record_close(const char *reason) {
  if (closes.count++ == 0) closes.first_ms = now_ms() - t0;
  for (uint32_t i = 0; i < closes.reasons_len; i++) {
    if (strcmp(closes.reasons[i], reason) == 0) return;
  }
  if (closes.reasons_len < MAX_REASONS) {
    snprintf(closes.reasons[closes.reasons_len++], REASON_MAX, "%s", reason);
  }
}

static void release(struct client *c) {
  if (c->fd >= 0) close(c->fd); /* also takes it out of the epoll set */
  c->fd = -1;
  free(c->pending);
  c->pending = NULL;
  c->pending_len = c->pending_off = 0;
  c->stage = ST_CLOSED;
}

/*
 * Ends a client that failed or was closed: `by_peer` when the broker closed or broke it (counted in
 * closedByBroker, as lib/client.ts counts it). A client still in its handshake fails the connect
 * phase. Always returns -1, so callers can `return drop(...)`.
 */
static int drop(struct client *c, bool by_peer, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int drop(struct client *c, bool by_peer, const char *fmt, ...) {
  if (c->stage == ST_CLOSED) return -1;
  char reason[REASON_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  bool handshake = c->stage < ST_IDLE;
  release(c);
  if (by_peer) record_close(reason);
  if (handshake && in_connect_phase) set_failure("bench-conn-%u: %s", c->index, reason);
  return -1;
}

/* Keeps what a write could not take, after anything already waiting. */
static int keep_pending(struct client *c, const uint8_t *data, size_t len) {
  uint32_t waiting = c->pending_len - c->pending_off;
  if ((size_t)waiting + len > MAX_PENDING_BYTES) {
    return drop(c, false, "more than %d bytes waiting to be written", MAX_PENDING_BYTES);
  }
  if (c->pending_off > 0) {
    memmove(c->pending, c->pending + c->pending_off, waiting);
    c->pending_off = 0;
    c->pending_len = waiting;
  }
  uint8_t *grown = realloc(c->pending, waiting + len);
  if (grown == NULL) return drop(c, false, "out of memory");
  memcpy(grown + waiting, data, len);
  c->pending = grown;
  c->pending_len = waiting + (uint32_t)len;
  return 0;
}

/* Writes as much as the socket takes now; -1 if the client was dropped. */
static int write_some(struct client *c, const uint8_t *data, size_t len, size_t *written) {
  *written = 0;
  while (*written < len) {
    ssize_t n = send(c->fd, data + *written, len - *written, MSG_NOSIGNAL);
    if (n > 0) {
      *written += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return 0;
    } else {
      return drop(c, true, "write: %s", n == 0 ? "wrote nothing" : strerror(errno));
    }
  }
  return 0;
}

/* Sends bytes in order: straight to the socket, or after what is already waiting for EPOLLOUT. */
static int client_write(struct client *c, const uint8_t *data, size_t len) {
  if (c->pending_len > c->pending_off) return keep_pending(c, data, len);
  size_t written;
  if (write_some(c, data, len, &written) < 0) return -1;
  return written < len ? keep_pending(c, data + written, len - written) : 0;
}

/* EPOLLOUT: writes what was waiting. */
static int flush_pending(struct client *c) {
  size_t waiting = c->pending_len - c->pending_off, written;
  if (write_some(c, c->pending + c->pending_off, waiting, &written) < 0) return -1;
  c->pending_off += (uint32_t)written;
  if (c->pending_off == c->pending_len) {
    free(c->pending);
    c->pending = NULL;
    c->pending_len = c->pending_off = 0;
  }
  return 0;
}

/* One MQTT packet (or a pong): as it is over TCP, as one masked frame over WebSocket. */
static int client_send(struct client *c, uint8_t opcode, const uint8_t *data, size_t len) {
  if (!cfg.ws) return client_write(c, data, len);
  uint8_t frame[256];
  size_t n = ws_frame(frame, sizeof frame, opcode, data, len);
  if (n == 0) return drop(c, false, "frame of %zu bytes too large", len);
  return client_write(c, frame, n);
}

/* ---------------------------------------------------------------------------------------------- */
/* Clients: the handshake                                                                         */
/* ---------------------------------------------------------------------------------------------- */

static void start_next(void);

static int send_connect(struct client *c) {
  uint8_t packet[64];
  c->stage = ST_CONNACK;
  return client_send(c, WS_BINARY, packet, connect_packet(packet, c->index));
}

static int on_connected(struct client *c) {
  if (!cfg.ws) return send_connect(c);
  char request[MAX_PATH_LEN + MAX_HOST_LEN + 256];
  size_t n = upgrade_request(request, sizeof request);
  if (n == 0) return drop(c, false, "upgrade request too long");
  c->stage = ST_UPGRADING;
  return client_write(c, (const uint8_t *)request, n);
}

/* A whole MQTT packet arrived; `body` holds its first min(length, MQTT_BODY_KEPT) bytes. */
static int on_packet(struct client *c, uint8_t type, uint32_t length, const uint8_t *body) {
  if (type == MQTT_CONNACK && c->stage == ST_CONNACK) {
    if (length < 2) return drop(c, false, "CONNACK with a %u-byte body", length);
    if (body[1] != 0) return drop(c, false, "CONNACK refused (return code %u)", body[1]);
    uint8_t packet[64];
    c->stage = ST_SUBACK;
    return client_send(c, WS_BINARY, packet, subscribe_packet(packet, c->index));
  }
  if (type == MQTT_SUBACK && c->stage == ST_SUBACK) {
    unsigned id = length >= 2 ? (unsigned)body[0] << 8 | body[1] : 0;
    if (length < 3 || id != 1 || body[2] == 0x80) {
      return drop(c, false, "SUBSCRIBE conn/%u at QoS 0 refused (SUBACK length %u, packet id %u, granted %u)",
                  c->index, length, id, length >= 3 ? body[2] : 0);
    }
    c->stage = ST_IDLE;
    subscribed++;
    start_next();
    return 0;
  }
  return 0; /* anything else (e.g. a PINGRESP): not waited for, ignored as lib/client.ts does */
}

/* Walks MQTT fixed headers; bodies are skipped except their first bytes. */
static int mqtt_feed(struct client *c, const uint8_t *buf, size_t len) {
  struct mqtt_reader *m = &c->mqtt;
  size_t pos = 0;
  while (pos < len) {
    if (m->stage == M_HEADER) {
      m->type = buf[pos++] >> 4;
      m->length = 0;
      m->length_bytes = 0;
      m->kept = 0;
      m->stage = M_LENGTH;
      continue;
    }
    if (m->stage == M_LENGTH) {
      uint8_t b = buf[pos++];
      m->length |= (uint32_t)(b & 0x7f) << (7 * m->length_bytes);
      m->length_bytes++;
      if (b & 0x80) {
        if (m->length_bytes >= 4) return drop(c, true, "malformed remaining length (more than 4 bytes)");
        continue;
      }
      m->remaining = m->length;
      m->stage = M_BODY;
    } else {
      size_t take = m->remaining < len - pos ? m->remaining : len - pos;
      for (size_t i = 0; i < take && m->kept < MQTT_BODY_KEPT; i++) m->body[m->kept++] = buf[pos + i];
      pos += take;
      m->remaining -= (uint32_t)take;
    }
    if (m->stage == M_BODY && m->remaining == 0) {
      m->stage = M_HEADER;
      if (on_packet(c, m->type, m->length, m->body) < 0) return -1;
    }
  }
  return 0;
}

/* A whole control frame arrived: answer a ping, end on a close. */
static int ws_control(struct client *c) {
  struct ws_reader *w = &c->ws;
  if (w->opcode == WS_PING) return client_send(c, WS_PONG, w->control, w->control_len);
  if (w->opcode == WS_CLOSE) {
    unsigned code = w->control_len >= 2 ? (unsigned)w->control[0] << 8 | w->control[1] : 1005;
    return drop(c, true, "WebSocket close %u", code);
  }
  return 0; /* a pong */
}

/* A frame header is complete: check it, start its payload. */
static int ws_begin(struct client *c, uint64_t length) {
  struct ws_reader *w = &c->ws;
  uint8_t b0 = w->head[0];
  w->opcode = b0 & 0x0f;
  if (b0 & 0x70) return drop(c, true, "WebSocket: frame with RSV bits set");
  if (w->opcode == WS_TEXT) return drop(c, true, "WebSocket: text frame (MQTT needs binary frames)");
  bool control = w->opcode >= 0x8;
  if (control && (w->opcode > WS_PONG || length > WS_CONTROL_MAX || !(b0 & 0x80))) {
    return drop(c, true, "WebSocket: bad control frame (opcode %u, %llu bytes)", w->opcode,
                (unsigned long long)length);
  }
  if (!control && w->opcode != WS_BINARY && w->opcode != WS_CONTINUATION) {
    return drop(c, true, "WebSocket: unknown opcode %u", w->opcode);
  }
  w->remaining = length;
  w->control_len = 0;
  w->in_payload = true;
  if (length == 0) {
    w->in_payload = false;
    if (control) return ws_control(c);
  }
  return 0;
}

/* Collects a frame header byte; starts the frame once its header is whole. */
static int ws_header_byte(struct client *c, uint8_t b) {
  struct ws_reader *w = &c->ws;
  w->head[w->head_len++] = b;
  if (w->head_len < 2) return 0;
  if (w->head[1] & 0x80) return drop(c, true, "WebSocket: masked frame from the server");
  uint8_t len7 = w->head[1] & 0x7f;
  uint8_t need = len7 < 126 ? 2 : len7 == 126 ? 4 : 10;
  if (w->head_len < need) return 0;
  uint64_t length = len7;
  if (len7 == 126) {
    length = (uint64_t)w->head[2] << 8 | w->head[3];
  } else if (len7 == 127) {
    length = 0;
    for (int i = 2; i < 10; i++) length = length << 8 | w->head[i];
    if (length >> 63) return drop(c, true, "WebSocket: frame length with the top bit set");
  }
  w->head_len = 0;
  return ws_begin(c, length);
}

/* Unwraps the server's frames: payloads of data frames go to the MQTT walker. */
static int ws_feed(struct client *c, const uint8_t *buf, size_t len) {
  struct ws_reader *w = &c->ws;
  size_t pos = 0;
  while (pos < len) {
    if (!w->in_payload) {
      if (ws_header_byte(c, buf[pos++]) < 0) return -1;
      continue;
    }
    size_t take = w->remaining < len - pos ? (size_t)w->remaining : len - pos;
    bool control = w->opcode >= 0x8;
    if (control) {
      /* ws_begin capped the length at WS_CONTROL_MAX, so this stays inside control[]. */
      memcpy(w->control + w->control_len, buf + pos, take);
      w->control_len += (uint8_t)take;
    } else if (mqtt_feed(c, buf + pos, take) < 0) {
      return -1;
    }
    pos += take;
    w->remaining -= take;
    if (w->remaining == 0) {
      w->in_payload = false;
      if (control && ws_control(c) < 0) return -1;
    }
  }
  return 0;
}

/* The upgrade response is whole: it must say 101. */
static int http_done(struct client *c) {
  struct http_reader *h = &c->http;
  h->status[h->status_len] = '\0';
  static const char expected[] = "HTTP/1.1 101";
  size_t n = sizeof expected - 1;
  bool ok = h->status_len >= n && memcmp(h->status, expected, n) == 0 &&
            (h->status_len == n || h->status[n] == ' ');
  if (!ok) return drop(c, false, "WebSocket upgrade refused: %s", h->status);
  return send_connect(c);
}

/* Reads the upgrade response. Returns the bytes it used (the rest are frames), or -1. */
static ssize_t http_feed(struct client *c, const uint8_t *buf, size_t len) {
  static const char terminator[] = "\r\n\r\n";
  struct http_reader *h = &c->http;
  for (size_t i = 0; i < len; i++) {
    uint8_t b = buf[i];
    if (++h->bytes > HTTP_HEADER_MAX) return drop(c, true, "WebSocket upgrade: response header too long");
    if (!h->status_done) {
      if (b == '\r' || b == '\n') {
        h->status_done = true;
      } else if (h->status_len < STATUS_LINE_MAX - 1) {
        h->status[h->status_len++] = b >= 0x20 && b < 0x7f ? (char)b : '?'; /* printable, for the message */
      }
    }
    if (b == (uint8_t)terminator[h->matched]) h->matched++;
    else h->matched = b == '\r' ? 1 : 0;
    if (h->matched == 4) return http_done(c) < 0 ? -1 : (ssize_t)(i + 1);
  }
  return (ssize_t)len;
}

/* Bytes from the socket. */
static int client_feed(struct client *c, const uint8_t *buf, size_t len) {
  if (!cfg.ws) return mqtt_feed(c, buf, len);
  if (c->stage == ST_UPGRADING) {
    ssize_t used = http_feed(c, buf, len);
    if (used < 0) return -1;
    buf += used;
    len -= (size_t)used;
    if (c->stage == ST_UPGRADING) return 0; /* the response header goes on in the next read */
  }
  return ws_feed(c, buf, len);
}

/*
 * Reads until the socket is drained (edge-triggered epoll). A short read means drained, unless the
 * event said the peer hung up: then read on to see the end of the stream.
 */
static void client_read(struct client *c, uint32_t events) {
  bool hangup = (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
  while (c->stage != ST_CLOSED) {
    ssize_t n = recv(c->fd, read_buffer, sizeof read_buffer, 0);
    if (n > 0) {
      if (client_feed(c, read_buffer, (size_t)n) < 0) return;
      if ((size_t)n < sizeof read_buffer && !hangup) return;
    } else if (n == 0) {
      drop(c, true, "closed by broker");
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (errno != EINTR) {
      drop(c, true, "read: %s", strerror(errno));
    }
  }
}

static void on_event(struct client *c, uint32_t events) {
  if (c->stage == ST_CLOSED) return;
  if (c->stage == ST_CONNECTING) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err != 0) {
      drop(c, false, "connect to %s:%u: %s", cfg.host, cfg.port, strerror(err));
      return;
    }
    if (on_connected(c) < 0) return;
  } else if ((events & EPOLLOUT) && c->pending != NULL) {
    if (flush_pending(c) < 0) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) client_read(c, events);
}

/* Opens client `index`: non-blocking socket, connect, into the epoll set. */
static void client_start(uint32_t index) {
  struct client *c = &clients[index];
  memset(c, 0, sizeof *c);
  c->index = index;
  c->stage = ST_CONNECTING;
  c->fd = socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    drop(c, false, "socket: %s", strerror(errno));
    return;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc;
  do rc = connect(c->fd, (const struct sockaddr *)&target, target_len);
  while (rc != 0 && errno == EINTR);
  if (rc != 0 && errno != EINPROGRESS) {
    drop(c, false, "connect to %s:%u: %s", cfg.host, cfg.port, strerror(errno));
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.u32 = index};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
    drop(c, false, "epoll_ctl: %s", strerror(errno));
    return;
  }
  if (rc == 0) on_connected(c); /* connected at once; the EPOLLOUT that follows finds nothing to do */
}

/* A handshake completed (or the phase starts): begin the next client, if any are left. */
static void start_next(void) {
  if (!failed && in_connect_phase && started < cfg.count) client_start(started++);
}

/* ---------------------------------------------------------------------------------------------- */
/* The run                                                                                        */
/* ---------------------------------------------------------------------------------------------- */

/* One epoll_wait (at most `timeout_ms`) and its events. */
static void poll_once(int timeout_ms) {
  struct epoll_event events[MAX_EVENTS];
  int n = epoll_wait(epfd, events, MAX_EVENTS, timeout_ms);
  if (n < 0) {
    if (errno == EINTR) return;
    fatal(2, "epoll_wait: %s", strerror(errno));
  }
  for (int i = 0; i < n; i++) {
    uint32_t index = events[i].data.u32;
    if (index < started) on_event(&clients[index], events[i].events);
  }
}

static int timeout_until(double deadline) {
  double left = deadline - now_ms();
  if (left <= 0) return 0;
  return left > INT_MAX ? INT_MAX : (int)left + 1;
}

/* Handles events (closes by the broker, pings) until `ms` have passed. */
static void run_for(int64_t ms) {
  double deadline = now_ms() + (double)ms;
  while (now_ms() < deadline) poll_once(timeout_until(deadline));
}

static uint32_t count_stage(enum stage stage) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < started; i++) n += clients[i].stage == stage;
  return n;
}

/* Opens every client, at most `concurrency` handshakes at once, until done, failed or out of time. */
static void connect_phase(void) {
  in_connect_phase = true;
  double deadline = t0 + (double)cfg.connect_phase_ms;
  uint32_t first = cfg.concurrency < cfg.count ? cfg.concurrency : cfg.count;
  for (uint32_t i = 0; i < first && !failed; i++) start_next();
  while (!failed && subscribed < cfg.count) {
    if (now_ms() >= deadline) {
      set_failure("opening %u connections timed out after %lld ms (under way: %u connecting, %u awaiting "
                  "the upgrade, %u awaiting CONNACK, %u awaiting SUBACK; %u not started)",
                  cfg.count, (long long)cfg.connect_phase_ms, count_stage(ST_CONNECTING),
                  count_stage(ST_UPGRADING), count_stage(ST_CONNACK), count_stage(ST_SUBACK),
                  cfg.count - started);
      break;
    }
    poll_once(timeout_until(deadline));
  }
  in_connect_phase = false;
}

static void close_all(void) {
  for (uint32_t i = 0; i < started; i++) {
    if (clients[i].stage != ST_CLOSED) release(&clients[i]);
  }
}

/* The connect phase's figures, shared by the ok and the failed result. */
struct figures {
  double elapsed_ms;
  double cpu_percent;
  uint32_t open; /* subscribed and not closed */
};

static double round_to(double x, double step) {
  return (double)(long long)(x / step + (x >= 0 ? 0.5 : -0.5)) * step;
}

static void emit_result(const struct figures *f) {
  struct text t = {.len = 0};
  long long elapsed = (long long)round_to(f->elapsed_ms, 1);
  long long per_sec = f->elapsed_ms > 0 ? (long long)round_to(f->open * 1000.0 / f->elapsed_ms, 1) : 0;
  text_printf(&t, "{\"event\":\"result\",\"result\":{\"ok\":%s,", failed ? "false" : "true");
  if (failed) {
    char error[MESSAGE_MAX + 64];
    snprintf(error, sizeof error, "%u open; %s", f->open, failure);
    text_printf(&t, "\"failedStage\":\"subscribers\",\"error\":");
    text_json_string(&t, error);
    text_printf(&t, ",");
  }
  text_printf(&t, "\"delivered\":0,\"published\":0,\"elapsedMs\":%lld,", elapsed);
  text_printf(&t, "\"deliveredPerSec\":0,\"publishedPerSec\":0,");
  text_printf(&t, "\"cpuPercent\":%.1f,\"saturated\":%s,\"samples\":[],", f->cpu_percent,
              f->cpu_percent > SATURATION_PERCENT ? "true" : "false");
  text_printf(&t, "\"closedByBroker\":%u,\"firstCloseMs\":", closes.count);
  if (closes.count > 0) text_printf(&t, "%lld", (long long)round_to(closes.first_ms, 1));
  else text_printf(&t, "null");
  text_printf(&t, ",\"closeReasons\":[");
  for (uint32_t i = 0; i < closes.reasons_len; i++) {
    if (i > 0) text_printf(&t, ",");
    text_json_string(&t, closes.reasons[i]);
  }
  text_printf(&t, "],\"messagesPerBatch\":0,\"acked\":0,\"ackedPerSec\":0,");
  text_printf(&t, "\"connections\":{\"count\":%u,\"ms\":%lld,\"perSec\":%lld}}}", f->open, elapsed, per_sec);
  emit_line(t.data);
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  parse_args(argc, argv);
  resolve_target();
  raise_fd_limit();
  clients = calloc(cfg.count, sizeof *clients);
  if (clients == NULL) fatal(2, "out of memory for %u clients", cfg.count);
  epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) fatal(2, "epoll_create1: %s", strerror(errno));
  rng_state = ((uint64_t)getpid() << 32) ^ (uint64_t)now_ms() ^ 0x9e3779b97f4a7c15ULL;
  arm_hard_limit(BEFORE_SAMPLE_MS + cfg.connect_phase_ms + SETTLE_MS + cfg.idle_hold_ms +
                 HARD_LIMIT_SLACK_MS);

  emit_event("measure-start");
  run_for(BEFORE_SAMPLE_MS); /* the parent takes its "before" RSS sample */
  double cpu0 = cpu_ms();
  t0 = now_ms();
  connect_phase();
  struct figures f;
  f.elapsed_ms = now_ms() - t0;
  f.cpu_percent = f.elapsed_ms > 0 ? round_to((cpu_ms() - cpu0) * 100.0 / f.elapsed_ms, 0.1) : 0;
  f.open = count_stage(ST_IDLE);
  if (failed) {
    close_all();
    emit_result(&f);
    return 0;
  }
  run_for(SETTLE_MS); /* idle: nothing is sent (keep alive 0); let the broker settle */
  emit_event("idle");
  run_for(cfg.idle_hold_ms);
  emit_event("measure-end");
  close_all();
  emit_result(&f);
  return 0;
}
