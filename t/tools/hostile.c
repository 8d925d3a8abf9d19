/*
 * hostile: the client of the hostile-input suite (t/integration/
 * test_hostile.sh). It crafts requests that the shim never sends, over raw
 * sockets (so that nothing refuses to send them: oversized headers, lying
 * Content-Length, truncated bodies) and the local socket, with bundles built
 * by libarchive or by hand (traversal and absolute names, links, devices, a
 * zstd bomb), and checks each answer's status and JSON "error" code against
 * PROTOCOL. After every case the daemon must still answer GET /v1/status.
 *
 *   hostile cases --port P --socket PATH --token-file F --canary NAME
 *                 [--tool SHA256] [CASE...]
 *       runs the cases (all, or those named) and prints one line per case:
 *       name, expected, got, OK or FAIL, the message. Exits 1 if any failed.
 *   hostile list
 *   hostile idle --port P --source ADDR --count N --seconds S --ready FILE
 *       holds N idle connections from ADDR (some with half a request) for
 *       S seconds, writes "opened N" to FILE once they are open, then
 *       prints how many the daemon had closed.
 *   hostile put --port P --token-file F FILE
 *       uploads FILE as a toolchain; prints its SHA-256.
 *
 * Every request but the auth cases is signed (common/auth.h), so that it
 * reaches the check it targets.
 */
#include <archive.h>
#include <archive_entry.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "hash.h"
#include "protocol.h"

#include "banned.h"

static struct {
	unsigned port;
	const char *socket;
	const char *canary;
	const char *tool; /* sha256 of an uploaded test tool, or NULL */
	struct auth_key key;
	int have_key;
} opt;

/* --- answers --- */

enum { GOT_CLOSED = -1, GOT_NOCONNECT = -2 };

struct answer {
	int status; /* HTTP status, or GOT_* */
	char code[64];
	char msg[600];
	json_t *body;
};

static void answer_release(struct answer *a)
{
	json_decref(a->body);
	memset(a, 0, sizeof(*a));
}

static void answer_parse_json(struct answer *a, const char *text, size_t len)
{
	json_t *o = json_loadb(text, len, 0, NULL);
	const char *c = json_string_value(json_object_get(o, "error"));
	const char *m = json_string_value(json_object_get(o, "message"));

	snprintf(a->code, sizeof(a->code), "%s", c ? c : "-");
	if (m)
		snprintf(a->msg, sizeof(a->msg), "%s", m);
	else
		snprintf(a->msg, sizeof(a->msg), "%.200s", len ? text : "");
	for (char *p = a->msg; *p; p++)
		if (*p == '\t' || *p == '\n' || *p == '\r')
			*p = ' ';
	a->body = o;
}

/* --- raw HTTP --- */

static int tcp_connect(const char *source, int quiet)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
	struct timeval tv = {.tv_sec = 60};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (source) {
		struct sockaddr_in src = {.sin_family = AF_INET};
		inet_pton(AF_INET, source, &src.sin_addr);
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			close(fd);
			return -1;
		}
	}
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (!quiet)
			fprintf(stderr, "hostile: connect: %s\n", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends what it can; a daemon that answered early may stop reading. */
static int send_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until the daemon closes (requests say Connection: close) or the
 * answer is complete. */
static void http_read_answer(int fd, struct answer *a)
{
	struct buf in;
	char *hdr_end;
	long clen = -1;

	buf_init(&in);
	for (;;) {
		ssize_t n;

		buf_grow(&in, 65536);
		n = recv(fd, in.data + in.len, 65536, 0);
		if (n <= 0)
			break;
		in.len += (size_t)n;
		in.data[in.len] = '\0';
		if (clen < 0 && (hdr_end = strstr(in.data, "\r\n\r\n"))) {
			char *cl = strcasestr(in.data, "\r\ncontent-length:");
			clen = cl && cl < hdr_end ? strtol(cl + 17, NULL, 10) : -1;
		}
		if (clen >= 0 && (hdr_end = strstr(in.data, "\r\n\r\n")) &&
		    in.len - (size_t)(hdr_end + 4 - in.data) >= (size_t)clen)
			break;
	}
	a->status = GOT_CLOSED;
	if (in.len > 12 && strncmp(in.data, "HTTP/1.", 7) == 0) {
		a->status = (int)strtol(in.data + 9, NULL, 10);
		hdr_end = strstr(in.data, "\r\n\r\n");
		if (hdr_end)
			answer_parse_json(a, hdr_end + 4, in.len - (size_t)(hdr_end + 4 - in.data));
		else
			snprintf(a->code, sizeof(a->code), "-");
	}
	buf_release(&in);
}

struct req {
	const char *method, *path;
	const void *body;
	size_t len;
	int no_proto;		  /* leave out X-Godistcc-Protocol */
	int no_auth;		  /* leave out X-Godistcc-Auth */
	const char *auth;	  /* this X-Godistcc-Auth value instead */
	const char *extra;	  /* more header lines, each ending in \r\n */
	long long content_length; /* -1: len; -2: none (chunked when a body) */
	size_t send_len;	  /* body bytes sent (0 with send_some unset: all) */
	int send_some;
	int half_close; /* shut down writing after the body */
	const char *source;
};

static void req_sign(const struct req *r, char out[AUTH_VALUE_MAX])
{
	auth_sign_body(&opt.key, r->method, r->path, r->body, r->len, auth_now_ms(), out);
}

static void req_headers(const struct req *r, struct buf *h)
{
	char sig[AUTH_VALUE_MAX];

	buf_addf(h, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n", r->method,
		 r->path, opt.port);
	if (!r->no_proto)
		buf_addf(h, "%s: %d\r\n", PROTOCOL_HEADER, PROTOCOL_VERSION);
	if (r->auth) {
		buf_addf(h, "%s: %s\r\n", AUTH_HEADER, r->auth);
	} else if (!r->no_auth && opt.have_key) {
		req_sign(r, sig);
		buf_addf(h, "%s: %s\r\n", AUTH_HEADER, sig);
	}
	if (r->content_length == -1 && (r->body || strcmp(r->method, "GET") != 0))
		buf_addf(h, "Content-Length: %zu\r\n", r->len);
	else if (r->content_length >= 0)
		buf_addf(h, "Content-Length: %lld\r\n", r->content_length);
	else if (r->content_length == -2)
		buf_adds(h, "Transfer-Encoding: chunked\r\n");
	if (r->extra)
		buf_adds(h, r->extra);
	buf_adds(h, "\r\n");
}

static void http_do(const struct req *r, struct answer *a)
{
	int fd = tcp_connect(r->source, 0);
	size_t n = r->send_some ? r->send_len : r->len;
	struct buf h;

	memset(a, 0, sizeof(*a));
	if (fd < 0) {
		a->status = GOT_NOCONNECT;
		return;
	}
	buf_init(&h);
	req_headers(r, &h);
	if (r->content_length == -2 && r->body) {
		/* One chunk per MiB. */
		send_all(fd, h.data, h.len);
		for (size_t off = 0; off < n; off += 1u << 20) {
			size_t k = n - off < (1u << 20) ? n - off : (1u << 20);
			char line[32];
			snprintf(line, sizeof(line), "%zx\r\n", k);
			if (send_all(fd, line, strlen(line)) < 0 ||
			    send_all(fd, (const char *)r->body + off, k) < 0 ||
			    send_all(fd, "\r\n", 2) < 0)
				break;
		}
		send_all(fd, "0\r\n\r\n", 5);
	} else {
		if (n < (1u << 20) && r->body)
			buf_add(&h, r->body, n);
		if (send_all(fd, h.data, h.len) == 0 && n >= (1u << 20) && r->body)
			send_all(fd, r->body, n);
	}
	if (r->half_close)
		shutdown(fd, SHUT_WR);
	http_read_answer(fd, a);
	buf_release(&h);
	close(fd);
}

static void http_simple(const char *method, const char *path, const void *body, size_t len,
			struct answer *a)
{
	struct req r = {.method = method, .path = path, .body = body, .len = len,
			.content_length = -1};
	http_do(&r, a);
}

static void post_job(const void *body, size_t len, struct answer *a)
{
	http_simple("POST", ROUTE_JOB, body, len, a);
}

/* --- bundles --- */

struct tarw {
	struct archive *a;
	struct buf out;
};

static la_ssize_t tar_write_cb(struct archive *a, void *opaque, const void *data, size_t len)
{
	(void)a;
	buf_add(&((struct tarw *)opaque)->out, data, len);
	return (la_ssize_t)len;
}

static void tar_init(struct tarw *t)
{
	buf_init(&t->out);
	t->a = archive_write_new();
	archive_write_set_format_pax_restricted(t->a);
	archive_write_set_bytes_in_last_block(t->a, 1);
	archive_write_open(t->a, t, NULL, tar_write_cb, NULL);
}

/* An entry of any type; link is the target of a symlink or hard link. */
static void tar_add(struct tarw *t, const char *name, unsigned type, const void *data, size_t len,
		    const char *link)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, 0644);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(e, link);
	else if (link)
		archive_entry_set_hardlink(e, link);
	if (type == AE_IFCHR || type == AE_IFBLK)
		archive_entry_set_rdev(e, makedev(1, 3));
	archive_entry_set_size(e, type == AE_IFREG && !link ? (la_int64_t)len : 0);
	if (archive_write_header(t->a, e) != ARCHIVE_OK)
		fprintf(stderr, "hostile: tar: %s: %s\n", name, archive_error_string(t->a));
	if (type == AE_IFREG && !link && len)
		archive_write_data(t->a, data, len);
	archive_entry_free(e);
}

static void tar_adds(struct tarw *t, const char *name, const char *text)
{
	tar_add(t, name, AE_IFREG, text, strlen(text), NULL);
}

static void tar_finish(struct tarw *t, struct buf *ret)
{
	archive_write_close(t->a);
	archive_write_free(t->a);
	*ret = t->out;
}

static void zstd_wrap(struct buf *b)
{
	size_t cap = ZSTD_compressBound(b->len);
	struct buf z;

	buf_init(&z);
	buf_grow(&z, cap);
	z.len = ZSTD_compress(z.data, cap, b->data, b->len, 3);
	if (ZSTD_isError(z.len)) {
		fprintf(stderr, "hostile: zstd: %s\n", ZSTD_getErrorName(z.len));
		exit(2);
	}
	buf_release(b);
	*b = z;
}

/* --- jobs --- */

static const char src_main[] = "package main\n";

/* A manifest the daemon accepts: compile of one file with package name p
 * (the test tool reads p to choose what to do), run with toolchain tc. */
static json_t *manifest_base(const char *tc, const char *p, const char *out)
{
	char h[HASH_HEX_LEN + 1];

	hash_buf(src_main, strlen(src_main), h);
	return json_pack("{s:i, s:s, s:s, s:[s,s,s,s,s], s:s, s:{s:s, s:s}, s:[{s:s, s:s}], "
			 "s:b, s:b}",
			 "protocol", 1, "tool", "compile", "toolchain", tc, "args", "-o", out,
			 "-p", p, "/src/m/main.go", "cwd", "/src/m", "env", "GOOS", "linux",
			 "GOARCH", "amd64", "files", "path", "/src/m/main.go", "blob", h,
			 "merge_output", 0, "compress", 0);
}

static const char *unknown_tc = "0000000000000000000000000000000000000000000000000000000000000001";

/* A bundle with manifest text and the blob of src_main. */
static void job_bundle_text(const char *manifest, size_t len, struct buf *ret)
{
	char h[HASH_HEX_LEN + 1], name[96];
	struct tarw t;

	hash_buf(src_main, strlen(src_main), h);
	snprintf(name, sizeof(name), "blob/%s", h);
	tar_init(&t);
	tar_add(&t, ENTRY_MANIFEST, AE_IFREG, manifest, len, NULL);
	tar_adds(&t, name, src_main);
	tar_finish(&t, ret);
}

static void job_bundle(json_t *m, struct buf *ret)
{
	char *text = json_dumps(m, JSON_COMPACT);

	job_bundle_text(text, strlen(text), ret);
	free(text);
	json_decref(m);
}

static void send_manifest(json_t *m, struct answer *a)
{
	struct buf b;

	job_bundle(m, &b);
	post_job(b.data, b.len, a);
	buf_release(&b);
}

static void send_manifest_text(const char *text, struct answer *a)
{
	struct buf b;

	job_bundle_text(text, strlen(text), &b);
	post_job(b.data, b.len, a);
	buf_release(&b);
}

static json_t *base(void)
{
	return manifest_base(unknown_tc, "main", "/tmp/wb/b001/_pkg_.a");
}

/* --- cases: manifests --- */

static void c_json_malformed(struct answer *a)
{
	send_manifest_text("{\"protocol\": 1, \"tool\": \"compile\", ", a);
}

static void c_json_not_object(struct answer *a)
{
	send_manifest_text("[1, 2, 3]", a);
}

static void c_json_deep(struct answer *a)
{
	struct buf t;

	buf_init(&t);
	for (int i = 0; i < 100000; i++)
		buf_addch(&t, '[');
	for (int i = 0; i < 100000; i++)
		buf_addch(&t, ']');
	send_manifest_text(t.data, a);
	buf_release(&t);
}

static void c_json_duplicate_key(struct answer *a)
{
	send_manifest_text("{\"protocol\": 1, \"protocol\": 1}", a);
}

static void c_type_protocol(struct answer *a)
{
	json_t *m = base();
	json_object_set_new(m, "protocol", json_string("1"));
	send_manifest(m, a);
}

static void c_type_args(struct answer *a)
{
	json_t *m = base();
	json_object_set_new(m, "args", json_string("-o /tmp/x"));
	send_manifest(m, a);
}

static void c_type_arg_number(struct answer *a)
{
	json_t *m = base();
	json_array_append_new(json_object_get(m, "args"), json_integer(7));
	send_manifest(m, a);
}

static void c_type_files(struct answer *a)
{
	json_t *m = base();
	json_object_set_new(m, "files", json_pack("[i]", 3));
	send_manifest(m, a);
}

static void c_type_env(struct answer *a)
{
	json_t *m = base();
	json_object_set_new(m, "env", json_pack("[s]", "GOOS=linux"));
	send_manifest(m, a);
}

static void c_type_bool(struct answer *a)
{
	json_t *m = base();
	json_object_set_new(m, "merge_output", json_string("yes"));
	send_manifest(m, a);
}

static void c_nul_in_path(struct answer *a)
{
	send_manifest_text(
	    "{\"protocol\": 1, \"tool\": \"compile\", \"toolchain\": "
	    "\"0000000000000000000000000000000000000000000000000000000000000001\", "
	    "\"args\": [], \"cwd\": \"/src/m\\u0000/../../etc\", \"files\": []}",
	    a);
}

static void c_unknown_tool(struct answer *a)
{
	json_t *m = base();
	json_object_set_new(m, "tool", json_string("link"));
	send_manifest(m, a);
}

static void c_too_many_files(struct answer *a)
{
	json_t *m = base(), *files = json_object_get(m, "files");

	for (unsigned i = 0; i < MANIFEST_MAX_FILES + 1; i++) {
		char p[64];
		snprintf(p, sizeof(p), "/src/m/f%u.go", i);
		json_array_append_new(files, json_pack("{s:s, s:s}", "path", p, "blob", unknown_tc));
	}
	send_manifest(m, a);
}

static void c_too_many_args(struct answer *a)
{
	json_t *m = base(), *args = json_object_get(m, "args");

	for (unsigned i = 0; i < MANIFEST_MAX_ARGS + 1; i++)
		json_array_append_new(args, json_string("-N"));
	send_manifest(m, a);
}

static void c_too_many_env(struct answer *a)
{
	json_t *m = base(), *env = json_object_get(m, "env");

	for (unsigned i = 0; i < MANIFEST_MAX_ENV + 1; i++) {
		char k[32];
		snprintf(k, sizeof(k), "X%u", i);
		json_object_set_new(env, k, json_string("1"));
	}
	send_manifest(m, a);
}

static void c_path_too_long(struct answer *a)
{
	json_t *m = base();
	struct buf p;

	buf_init(&p);
	while (p.len <= PATH_MAX_BYTES)
		buf_adds(&p, "/aaaaaaaa");
	json_object_set_new(m, "cwd", json_string(p.data));
	buf_release(&p);
	send_manifest(m, a);
}

static void c_path_dotdot(struct answer *a)
{
	json_t *m = base();
	char p[256];

	snprintf(p, sizeof(p), "/src/../../../../tmp/%s-file", opt.canary);
	json_object_set_new(json_array_get(json_object_get(m, "files"), 0), "path",
			    json_string(p));
	send_manifest(m, a);
}

static void c_path_relative(struct answer *a)
{
	json_t *m = base();
	char p[256];

	snprintf(p, sizeof(p), "%s-rel/main.go", opt.canary);
	json_object_set_new(json_array_get(json_object_get(m, "files"), 0), "path",
			    json_string(p));
	send_manifest(m, a);
}

static void c_args_dotdot(struct answer *a)
{
	char out[256];

	snprintf(out, sizeof(out), "../../../../../../tmp/%s-out/_pkg_.a", opt.canary);
	send_manifest(manifest_base(opt.tool ? opt.tool : unknown_tc, "write", out), a);
}

/* base() with the uploaded test tool: nothing is missing, the args are
 * what the daemon checks. */
static json_t *base_tool(void)
{
	return manifest_base(opt.tool ? opt.tool : unknown_tc, "main", "/tmp/wb/b001/_pkg_.a");
}

static void c_args_response_file(struct answer *a)
{
	json_t *m = base_tool();
	json_array_append_new(json_object_get(m, "args"), json_string("@/etc/passwd"));
	send_manifest(m, a);
}

static void c_args_input_not_sent(struct answer *a)
{
	json_t *m = base_tool();
	json_array_append_new(json_object_get(m, "args"), json_string("/etc/passwd"));
	send_manifest(m, a);
}

/* An absolute output path outside any input: relocated into the sandbox.
 * The tool writes it; the canary must not appear on the host. */
static void c_args_absolute_out(struct answer *a)
{
	char out[256];

	snprintf(out, sizeof(out), "/tmp/%s-abs/_pkg_.a", opt.canary);
	send_manifest(manifest_base(opt.tool ? opt.tool : unknown_tc, "write", out), a);
}

static void c_unknown_toolchain(struct answer *a)
{
	send_manifest(base(), a);
	if (a->status == 409 && !json_is_true(json_object_get(a->body, "toolchain")))
		snprintf(a->code, sizeof(a->code), "missing-but-not-toolchain");
}

static void c_toolchain_not_hex(struct answer *a)
{
	json_t *m = base();
	json_object_set_new(m, "toolchain", json_string("../../../../bin/sh"));
	send_manifest(m, a);
}

/* --- cases: bundles --- */

static void c_bundle_garbage(struct answer *a)
{
	char junk[4096];

	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(i * 7919 % 251);
	post_job(junk, sizeof(junk), a);
}

static void c_bundle_empty(struct answer *a)
{
	post_job("", 0, a);
}

static void valid_bundle(struct buf *b)
{
	job_bundle(base(), b);
}

static void c_bundle_truncated_tar(struct answer *a)
{
	struct buf b;

	valid_bundle(&b);
	post_job(b.data, b.len - 1100, a);
	buf_release(&b);
}

static void c_bundle_no_end_marker(struct answer *a)
{
	struct buf b;

	valid_bundle(&b);
	post_job(b.data, b.len - 1024, a);
	buf_release(&b);
}

static void c_bundle_truncated_zstd(struct answer *a)
{
	struct buf b;

	valid_bundle(&b);
	zstd_wrap(&b);
	post_job(b.data, b.len / 2, a);
	buf_release(&b);
}

static void c_bundle_corrupt_zstd(struct answer *a)
{
	struct buf b;

	valid_bundle(&b);
	zstd_wrap(&b);
	for (size_t i = 8; i < b.len; i += 3)
		b.data[i] ^= 0x5a;
	post_job(b.data, b.len, a);
	buf_release(&b);
}

/* A zstd frame header that asks for a 2 GiB window. */
static void c_zstd_window(struct answer *a)
{
	/* magic; descriptor: no checksum, not single segment, no size;
	 * window descriptor: exponent 21 (log 31); then a last raw block of 0. */
	static const unsigned char f[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 21 << 3, 0x01, 0x00, 0x00};
	post_job(f, sizeof(f), a);
}

static void zstd_block(struct buf *z, int last, int type, size_t size, const void *data,
		       size_t dlen)
{
	uint32_t h = (uint32_t)last | (uint32_t)type << 1 | (uint32_t)size << 3;
	unsigned char hb[3] = {h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff};

	buf_add(z, hb, 3);
	buf_add(z, data, dlen);
}

/*
 * A zstd bomb: prefix (tar headers, raw) then `zeros` bytes of zeros as RLE
 * blocks of 128 KiB (4 bytes each), then suffix. 16 GiB cost 512 KiB.
 */
static void zstd_bomb(const struct buf *prefix, unsigned long long zeros, struct buf *z)
{
	static const unsigned char hdr[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3};
	const size_t blk = 128u << 10;
	unsigned char zero = 0;

	buf_init(z);
	buf_add(z, hdr, sizeof(hdr));
	for (size_t off = 0; off < prefix->len; off += blk) {
		size_t n = prefix->len - off < blk ? prefix->len - off : blk;
		zstd_block(z, 0, 0, n, prefix->data + off, n);
	}
	while (zeros > 0) {
		size_t n = zeros < blk ? (size_t)zeros : blk;
		zeros -= n;
		zstd_block(z, zeros == 0, 1, n, &zero, 1);
	}
}

/* A ustar header block by hand (libarchive would not write a lying one). */
static void ustar_header(struct buf *b, const char *name, char type, unsigned long long size)
{
	unsigned char h[512] = {0};
	unsigned sum = 0;

	snprintf((char *)h, 100, "%s", name);
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	char sz[24];

	if (size < (8ull << 30)) {
		snprintf(sz, sizeof(sz), "%011llo", size & 077777777777ull);
		memcpy(h + 124, sz, 12);
	} else {
		/* GNU base-256: a leading 0x80, then big-endian. */
		h[124] = 0x80;
		for (int i = 0; i < 8; i++)
			h[135 - i] = (unsigned char)(size >> (8 * i));
	}
	memcpy(h + 136, "00000000000", 12);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	buf_add(b, h, 512);
}

static void ustar_file(struct buf *b, const char *name, const char *data, size_t len)
{
	static const char pad[512];

	ustar_header(b, name, '0', len);
	buf_add(b, data, len);
	if (len % 512)
		buf_add(b, pad, 512 - len % 512);
}

static void bomb_manifest_prefix(struct buf *p)
{
	char *text = json_dumps(base(), JSON_COMPACT);

	buf_init(p);
	/* (base() leaks into text only; freed below.) */
	ustar_file(p, ENTRY_MANIFEST, text, strlen(text));
	free(text);
}

/* One blob entry declared and sent as 16 GiB of zeros. */
static void c_zstd_bomb_entry(struct answer *a)
{
	struct buf p, z;

	bomb_manifest_prefix(&p);
	ustar_header(&p, "blob/" "0000000000000000000000000000000000000000000000000000000000000002",
		     '0', 16ull << 30);
	zstd_bomb(&p, 16ull << 30, &z);
	post_job(z.data, z.len, a);
	buf_release(&p);
	buf_release(&z);
}

/* A small valid blob, then an entry within the entry cap that takes the
 * total over JOB_MAX_DECOMPRESSED, sent as 1 GiB of zeros. */
static void c_zstd_bomb_total(struct answer *a)
{
	char h[HASH_HEX_LEN + 1], name[96];
	struct buf p, z;

	bomb_manifest_prefix(&p);
	hash_buf(src_main, strlen(src_main), h);
	snprintf(name, sizeof(name), "blob/%s", h);
	ustar_file(&p, name, src_main, strlen(src_main));
	ustar_header(&p, "blob/" "0000000000000000000000000000000000000000000000000000000000000003",
		     '0', JOB_MAX_DECOMPRESSED);
	zstd_bomb(&p, JOB_MAX_DECOMPRESSED, &z);
	post_job(z.data, z.len, a);
	buf_release(&p);
	buf_release(&z);
}

/* A 4 GiB header entry of the given type, read by libarchive before any
 * entry: a pax extended header ('x') or a GNU long name ('L'). */
static void zstd_bomb_header(const char *name, char type, struct answer *a)
{
	struct buf p, z;

	bomb_manifest_prefix(&p);
	ustar_header(&p, name, type, 4ull << 30);
	zstd_bomb(&p, 4ull << 30, &z);
	post_job(z.data, z.len, a);
	buf_release(&p);
	buf_release(&z);
}

static void c_zstd_bomb_pax(struct answer *a)
{
	zstd_bomb_header("PaxHeader/x", 'x', a);
}

static void c_zstd_bomb_longname(struct answer *a)
{
	zstd_bomb_header("././@LongLink", 'L', a);
}

/* A bundle with the manifest, then one hostile entry. */
static void hostile_entry(const char *name, unsigned type, const char *link, struct answer *a)
{
	char *text = json_dumps(base(), JSON_COMPACT);
	struct tarw t;
	struct buf b;

	tar_init(&t);
	tar_adds(&t, ENTRY_MANIFEST, text);
	tar_add(&t, name, type, "evil\n", 5, link);
	tar_finish(&t, &b);
	post_job(b.data, b.len, a);
	buf_release(&b);
	free(text);
}

static void c_entry_dotdot(struct answer *a)
{
	char n[256];

	snprintf(n, sizeof(n), "blob/../../../../../../tmp/%s-entry", opt.canary);
	hostile_entry(n, AE_IFREG, NULL, a);
}

static void c_entry_absolute(struct answer *a)
{
	char n[256];

	snprintf(n, sizeof(n), "/tmp/%s-absentry", opt.canary);
	hostile_entry(n, AE_IFREG, NULL, a);
}

static void c_entry_symlink(struct answer *a)
{
	char n[256];

	snprintf(n, sizeof(n), "/tmp/%s-symlink", opt.canary);
	hostile_entry("blob/0000000000000000000000000000000000000000000000000000000000000005",
		      AE_IFLNK, n, a);
}

static void c_entry_hardlink(struct answer *a)
{
	hostile_entry("blob/0000000000000000000000000000000000000000000000000000000000000006",
		      AE_IFREG, "/etc/passwd", a);
}

static void c_entry_chardev(struct answer *a)
{
	hostile_entry("blob/0000000000000000000000000000000000000000000000000000000000000007",
		      AE_IFCHR, NULL, a);
}

static void c_entry_fifo(struct answer *a)
{
	hostile_entry("blob/0000000000000000000000000000000000000000000000000000000000000008",
		      AE_IFIFO, NULL, a);
}

static void c_entry_dir(struct answer *a)
{
	hostile_entry("blob", AE_IFDIR, NULL, a);
}

static void c_entry_unexpected(struct answer *a)
{
	hostile_entry("stdout", AE_IFREG, NULL, a);
}

static void c_manifest_not_first(struct answer *a)
{
	char *text = json_dumps(base(), JSON_COMPACT);
	char h[HASH_HEX_LEN + 1], name[96];
	struct tarw t;
	struct buf b;

	hash_buf(src_main, strlen(src_main), h);
	snprintf(name, sizeof(name), "blob/%s", h);
	tar_init(&t);
	tar_adds(&t, name, src_main);
	tar_adds(&t, ENTRY_MANIFEST, text);
	tar_finish(&t, &b);
	post_job(b.data, b.len, a);
	buf_release(&b);
	free(text);
}

static void c_blob_mismatch(struct answer *a)
{
	char *text = json_dumps(base(), JSON_COMPACT);
	char h[HASH_HEX_LEN + 1], name[96];
	struct tarw t;
	struct buf b;

	hash_buf(src_main, strlen(src_main), h);
	snprintf(name, sizeof(name), "blob/%s", h);
	tar_init(&t);
	tar_adds(&t, ENTRY_MANIFEST, text);
	tar_adds(&t, name, "package evil\n");
	tar_finish(&t, &b);
	post_job(b.data, b.len, a);
	buf_release(&b);
	free(text);
}

static void c_too_many_entries(struct answer *a)
{
	char *text = json_dumps(base(), JSON_COMPACT);
	struct tarw t;
	struct buf b;

	tar_init(&t);
	tar_adds(&t, ENTRY_MANIFEST, text);
	for (unsigned i = 0; i < JOB_MAX_ENTRIES + 1; i++) {
		char data[32], h[HASH_HEX_LEN + 1], name[96];
		snprintf(data, sizeof(data), "%u", i);
		hash_buf(data, strlen(data), h);
		snprintf(name, sizeof(name), "blob/%s", h);
		tar_adds(&t, name, data);
	}
	tar_finish(&t, &b);
	zstd_wrap(&b);
	post_job(b.data, b.len, a);
	buf_release(&b);
	free(text);
}

static void c_manifest_too_large(struct answer *a)
{
	size_t n = MANIFEST_MAX_BYTES + 100;
	char *big = xmalloc(n + 1);

	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	send_manifest_text(big, a);
	free(big);
}

/* --- cases: HTTP --- */

static void c_body_too_large(struct answer *a)
{
	struct req r = {.method = "POST", .path = ROUTE_JOB, .content_length =
			(long long)JOB_MAX_BYTES + 1};
	http_do(&r, a);
}

static void c_toolchain_too_large(struct answer *a)
{
	char path[128];
	struct req r = {.method = "PUT", .path = path, .content_length =
			(long long)TOOLCHAIN_MAX_BYTES + 1};

	snprintf(path, sizeof(path), "%s%s", ROUTE_TOOLCHAIN_PREFIX, unknown_tc);
	http_do(&r, a);
}

static void c_join_chunked_over_cap(struct answer *a)
{
	size_t n = JOIN_MAX_BYTES * 4;
	char *body = xmalloc(n);
	struct req r = {.method = "POST", .path = ROUTE_JOIN, .content_length = -2};

	memset(body, 'x', n);
	r.body = body;
	r.len = n;
	http_do(&r, a);
	free(body);
}

static void c_content_length_garbage(struct answer *a)
{
	struct req r = {.method = "POST", .path = ROUTE_JOB, .content_length = -3,
			.extra = "Content-Length: 12abc\r\n"};
	http_do(&r, a);
}

static void c_content_length_negative(struct answer *a)
{
	struct req r = {.method = "POST", .path = ROUTE_JOB, .content_length = -3,
			.extra = "Content-Length: -5\r\n"};
	http_do(&r, a);
}

static void c_body_truncated(struct answer *a)
{
	struct buf b;
	struct req r = {.method = "POST", .path = ROUTE_JOB, .content_length = -1,
			.send_some = 1, .half_close = 1};

	valid_bundle(&b);
	r.body = b.data;
	r.len = b.len;
	r.send_len = b.len / 3;
	http_do(&r, a);
	buf_release(&b);
}

/* Content-Length says less than is sent: the daemon reads that much. */
static void c_content_length_short(struct answer *a)
{
	struct buf b;
	struct req r = {.method = "POST", .path = ROUTE_JOB, .send_some = 1};

	valid_bundle(&b);
	r.body = b.data;
	r.len = 1000; /* signed and declared */
	r.content_length = 1000;
	r.send_len = b.len;
	http_do(&r, a);
	buf_release(&b);
}

static void c_header_huge(struct answer *a)
{
	struct buf h;
	struct req r = {.method = "GET", .path = ROUTE_STATUS, .content_length = -3};

	buf_init(&h);
	buf_adds(&h, "X-Junk: ");
	for (int i = 0; i < 256 * 1024; i++)
		buf_addch(&h, 'a');
	buf_adds(&h, "\r\n");
	r.extra = h.data;
	http_do(&r, a);
	buf_release(&h);
}

static void c_header_many(struct answer *a)
{
	struct buf h;
	struct req r = {.method = "GET", .path = ROUTE_STATUS, .content_length = -3};

	buf_init(&h);
	for (int i = 0; i < 20000; i++)
		buf_addf(&h, "X-H%d: v\r\n", i);
	r.extra = h.data;
	http_do(&r, a);
	buf_release(&h);
}

static void c_url_huge(struct answer *a)
{
	struct buf u;
	struct req r = {.method = "GET", .content_length = -3};

	buf_init(&u);
	buf_adds(&u, ROUTE_STATUS "?");
	for (int i = 0; i < 256 * 1024; i++)
		buf_addch(&u, 'q');
	r.path = u.data;
	http_do(&r, a);
	buf_release(&u);
}

static void c_no_protocol_header(struct answer *a)
{
	struct buf b;
	struct req r = {.method = "POST", .path = ROUTE_JOB, .content_length = -1,
			.no_proto = 1};

	valid_bundle(&b);
	r.body = b.data;
	r.len = b.len;
	http_do(&r, a);
	buf_release(&b);
}

static void c_not_found(struct answer *a)
{
	http_simple("GET", "/v1/../../etc/passwd", NULL, 0, a);
}

static void c_method(struct answer *a)
{
	http_simple("DELETE", ROUTE_JOB, NULL, 0, a);
}

static void c_toolchain_name(struct answer *a)
{
	http_simple("PUT", ROUTE_TOOLCHAIN_PREFIX "../../../../tmp/escape", "x", 1, a);
}

static void c_toolchain_mismatch(struct answer *a)
{
	static const char content[] = "\177ELF not the binary you named";
	char path[128], h[HASH_HEX_LEN + 1];

	hash_buf("something else", 14, h);
	snprintf(path, sizeof(path), "%s%s", ROUTE_TOOLCHAIN_PREFIX, h);
	http_simple("PUT", path, content, sizeof(content) - 1, a);
}

static void c_join_malformed(struct answer *a)
{
	http_simple("POST", ROUTE_JOIN, "{\"url\": ", 8, a);
}

static void c_join_bad_url(struct answer *a)
{
	static const char b[] = "{\"url\": \"file:///etc/passwd\", \"name\": \"x\"}";
	http_simple("POST", ROUTE_JOIN, b, sizeof(b) - 1, a);
}

/* --- cases: auth --- */

static void status_req(struct req *r)
{
	memset(r, 0, sizeof(*r));
	r->method = "GET";
	r->path = ROUTE_CLUSTER;
	r->content_length = -3;
}

static void c_auth_missing(struct answer *a)
{
	struct req r;

	status_req(&r);
	r.no_auth = 1;
	http_do(&r, a);
}

static void c_auth_malformed(struct answer *a)
{
	struct req r;

	status_req(&r);
	r.auth = "v1 yesterday nonce body mac";
	http_do(&r, a);
}

static void c_auth_overlong(struct answer *a)
{
	struct buf v;
	struct req r;

	buf_init(&v);
	buf_adds(&v, "v1 ");
	for (int i = 0; i < 4000; i++)
		buf_addch(&v, '7');
	status_req(&r);
	r.auth = v.data;
	http_do(&r, a);
	buf_release(&v);
}

static void c_auth_wrong_token(struct answer *a)
{
	unsigned char other[] = "not-the-cluster-token-at-all-0123456789";
	struct auth_key k = {.key = other, .len = sizeof(other) - 1};
	char sig[AUTH_VALUE_MAX];
	struct req r;

	status_req(&r);
	auth_sign_body(&k, r.method, r.path, NULL, 0, auth_now_ms(), sig);
	r.auth = sig;
	http_do(&r, a);
}

static void c_auth_stale(struct answer *a)
{
	char sig[AUTH_VALUE_MAX];
	struct req r;

	status_req(&r);
	auth_sign_body(&opt.key, r.method, r.path, NULL, 0, auth_now_ms() - 2 * AUTH_WINDOW_MS,
		       sig);
	r.auth = sig;
	http_do(&r, a);
}

static void c_auth_future(struct answer *a)
{
	char sig[AUTH_VALUE_MAX];
	struct req r;

	status_req(&r);
	auth_sign_body(&opt.key, r.method, r.path, NULL, 0, auth_now_ms() + 2 * AUTH_WINDOW_MS,
		       sig);
	r.auth = sig;
	http_do(&r, a);
}

static void c_auth_replayed(struct answer *a)
{
	char sig[AUTH_VALUE_MAX];
	struct req r;

	status_req(&r);
	auth_sign_body(&opt.key, r.method, r.path, NULL, 0, auth_now_ms(), sig);
	r.auth = sig;
	http_do(&r, a);
	if (a->status != 200) {
		char first[64];

		snprintf(first, sizeof(first), "%s", a->code);
		snprintf(a->code, sizeof(a->code), "first:%d %.40s", a->status, first);
		return;
	}
	answer_release(a);
	http_do(&r, a);
}

/* Signed for another path (a header lifted onto another request). */
static void c_auth_forged_path(struct answer *a)
{
	char sig[AUTH_VALUE_MAX];
	struct req r;

	status_req(&r);
	auth_sign_body(&opt.key, "GET", ROUTE_STATUS, NULL, 0, auth_now_ms(), sig);
	r.auth = sig;
	http_do(&r, a);
}

/* The MAC's last digit changed. */
static void c_auth_forged_mac(struct answer *a)
{
	char sig[AUTH_VALUE_MAX];
	struct req r;
	size_t n;

	status_req(&r);
	auth_sign_body(&opt.key, r.method, r.path, NULL, 0, auth_now_ms(), sig);
	n = strlen(sig);
	sig[n - 1] = sig[n - 1] == '0' ? '1' : '0';
	r.auth = sig;
	http_do(&r, a);
}

/* Signed for one body, sent with another of the same length. */
static void c_auth_body_altered(struct answer *a)
{
	static const char signed_body[] = "{\"url\": \"http://127.0.0.1:1\", \"name\": \"a\"}";
	static const char sent_body[] = "{\"url\": \"http://127.0.0.1:2\", \"name\": \"a\"}";
	char sig[AUTH_VALUE_MAX];
	struct req r = {.method = "POST", .path = ROUTE_JOIN, .content_length = -1};

	auth_sign_body(&opt.key, r.method, r.path, signed_body, sizeof(signed_body) - 1,
		       auth_now_ms(), sig);
	r.auth = sig;
	r.body = sent_body;
	r.len = sizeof(sent_body) - 1;
	http_do(&r, a);
}

/* --- cases: the local socket --- */

static int unix_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 60};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", opt.socket);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int read_full(int fd, void *p, size_t len)
{
	char *c = p;

	while (len > 0) {
		ssize_t n = recv(fd, c, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Sends a frame header saying `declared`, then `len` bytes of data; reads
 * the answer frame. "status" is 200 for any JSON frame, GOT_CLOSED else. */
static void local_do(uint32_t declared, const void *data, size_t len, int half_close,
		     struct answer *a)
{
	unsigned char h[4] = {declared >> 24, (declared >> 16) & 0xff, (declared >> 8) & 0xff,
			      declared & 0xff};
	int fd = unix_connect();
	uint32_t n;
	char *body;

	memset(a, 0, sizeof(*a));
	a->status = GOT_NOCONNECT;
	if (fd < 0)
		return;
	a->status = GOT_CLOSED;
	send_all(fd, h, 4);
	if (len)
		send_all(fd, data, len);
	if (half_close)
		shutdown(fd, SHUT_WR);
	if (read_full(fd, h, 4) == 0) {
		n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
		if (n <= (1u << 20)) {
			body = xmalloc(n + 1);
			if (read_full(fd, body, n) == 0) {
				a->status = 200;
				answer_parse_json(a, body, n);
			}
			free(body);
		}
	}
	close(fd);
}

static void local_json(const char *text, struct answer *a)
{
	local_do((uint32_t)strlen(text), text, strlen(text), 0, a);
}

static void c_local_frame_huge(struct answer *a)
{
	local_do(0xffffffffu, NULL, 0, 0, a);
}

static void c_local_frame_over_cap(struct answer *a)
{
	local_do(MANIFEST_MAX_BYTES + 1, "{", 1, 0, a);
}

static void c_local_frame_truncated(struct answer *a)
{
	local_do(1000, "{\"protocol\": 1", 14, 1, a);
}

static void c_local_frame_empty(struct answer *a)
{
	local_do(0, NULL, 0, 0, a);
}

static void c_local_json_malformed(struct answer *a)
{
	local_json("{\"protocol\": 1, \"tool\": ", a);
}

static void c_local_tool_path_relative(struct answer *a)
{
	local_json("{\"protocol\": 1, \"tool\": \"compile\", \"tool_path\": \"../../bin/sh\", "
		   "\"args\": [], \"cwd\": \"/src/m\", \"files\": []}",
		   a);
}

static void c_local_tool_path_not_tool(struct answer *a)
{
	local_json("{\"protocol\": 1, \"tool\": \"compile\", \"tool_path\": \"/dev/zero\", "
		   "\"args\": [], \"cwd\": \"/src/m\", \"files\": []}",
		   a);
}

static void c_local_blob_given(struct answer *a)
{
	local_json("{\"protocol\": 1, \"tool\": \"compile\", \"tool_path\": "
		   "\"/bin/true\", \"args\": [], \"cwd\": \"/src/m\", \"files\": "
		   "[{\"path\": \"/src/m/a.go\", \"blob\": "
		   "\"0000000000000000000000000000000000000000000000000000000000000001\"}]}",
		   a);
}

static void c_local_wrong_types(struct answer *a)
{
	local_json("{\"protocol\": \"one\", \"tool\": 5, \"args\": {}, \"files\": \"all\"}", a);
}

/* --- cases: jobs that misbehave (the test tool) --- */

static void tool_job(const char *mode, struct answer *a)
{
	char out[64];

	if (!opt.tool) {
		memset(a, 0, sizeof(*a));
		a->status = 0;
		snprintf(a->code, sizeof(a->code), "no-tool-given");
		return;
	}
	snprintf(out, sizeof(out), "/tmp/wb/%s/_pkg_.a", mode);
	send_manifest(manifest_base(opt.tool, mode, out), a);
}

static void c_job_loop(struct answer *a)
{
	tool_job("loop", a);
}

static void c_job_big_stdout(struct answer *a)
{
	tool_job("stdout", a);
}

static void c_job_big_output(struct answer *a)
{
	tool_job("bigfile", a);
}

static void c_job_fork_loop(struct answer *a)
{
	tool_job("forkloop", a);
}

/* --- the table --- */

/*
 * expect: alternatives separated by '|', each "STATUS CODE" ("*" as code:
 * any, the answer is libmicrohttpd's own and not JSON), or "closed" (the
 * daemon closes the connection without an answer). msg: a substring the
 * message must contain (naming the limit), or NULL.
 */
struct hcase {
	const char *name;
	void (*run)(struct answer *a);
	const char *expect;
	const char *msg;
};

/* clang-format off */
static const struct hcase cases[] = {
	{"json-malformed", c_json_malformed, "400 bad_request", "manifest"},
	{"json-not-object", c_json_not_object, "400 bad_request", "not a JSON object"},
	{"json-deep-nesting", c_json_deep, "400 bad_request", "manifest"},
	{"json-duplicate-key", c_json_duplicate_key, "400 bad_request", "duplicate"},
	{"type-protocol-string", c_type_protocol, "400 bad_request", "protocol"},
	{"type-args-string", c_type_args, "400 bad_request", "args"},
	{"type-arg-number", c_type_arg_number, "400 bad_request", "args["},
	{"type-files-number", c_type_files, "400 bad_request", "files[0]"},
	{"type-env-array", c_type_env, "400 bad_request", "env"},
	{"type-bool-string", c_type_bool, "400 bad_request", "merge_output"},
	{"json-nul-in-path", c_nul_in_path, "400 bad_request", NULL},
	{"tool-unknown", c_unknown_tool, "400 bad_request", "tool"},
	{"cap-files", c_too_many_files, "400 bad_request|413 too_large", "MANIFEST_MAX_FILES"},
	{"cap-args", c_too_many_args, "400 bad_request|413 too_large", "MANIFEST_MAX_ARGS"},
	{"cap-env", c_too_many_env, "400 bad_request|413 too_large", "MANIFEST_MAX_ENV"},
	{"cap-path-length", c_path_too_long, "400 bad_request|413 too_large", "PATH_MAX_BYTES"},
	{"cap-manifest-bytes", c_manifest_too_large, "400 bad_request|413 too_large",
	 "MANIFEST_MAX_BYTES"},
	{"path-dotdot", c_path_dotdot, "400 bad_request", "clean absolute"},
	{"path-relative", c_path_relative, "400 bad_request", "clean absolute"},
	{"args-dotdot-output", c_args_dotdot, "400 bad_request", ".."},
	{"args-response-file", c_args_response_file, "400 bad_request", "@"},
	{"args-input-not-sent", c_args_input_not_sent, "400 bad_request", "/etc/passwd"},
	{"args-absolute-output", c_args_absolute_out, "200 -", NULL},
	{"toolchain-unknown", c_unknown_toolchain, "409 missing", "toolchain"},
	{"toolchain-not-hex", c_toolchain_not_hex, "400 bad_request", "SHA-256"},
	{"toolchain-name-traversal", c_toolchain_name, "400 bad_request", "SHA-256"},
	{"toolchain-hash-mismatch", c_toolchain_mismatch, "400 hash_mismatch", NULL},
	{"cap-toolchain-bytes", c_toolchain_too_large, "413 too_large", "cap"},
	{"bundle-garbage", c_bundle_garbage, "400 bad_request", "bundle"},
	{"bundle-empty", c_bundle_empty, "400 bad_request", "bundle"},
	{"bundle-truncated-tar", c_bundle_truncated_tar, "400 bad_request", "bundle"},
	{"bundle-no-end-marker", c_bundle_no_end_marker, "400 bad_request", "truncated"},
	{"bundle-truncated-zstd", c_bundle_truncated_zstd, "400 bad_request", "zstd"},
	{"bundle-corrupt-zstd", c_bundle_corrupt_zstd, "400 bad_request", "zstd"},
	{"zstd-window-2GiB", c_zstd_window, "400 bad_request", "zstd"},
	{"zstd-bomb-16GiB-entry", c_zstd_bomb_entry, "400 bad_request|413 too_large", "limit"},
	{"zstd-bomb-total", c_zstd_bomb_total, "400 bad_request|413 too_large", "total limit"},
	{"zstd-bomb-pax-header", c_zstd_bomb_pax, "400 bad_request|413 too_large", "bundle"},
	{"zstd-bomb-gnu-longname", c_zstd_bomb_longname, "400 bad_request|413 too_large",
	 "bundle"},
	{"entry-dotdot", c_entry_dotdot, "400 bad_request", "invalid entry name"},
	{"entry-absolute", c_entry_absolute, "400 bad_request", "invalid entry name"},
	{"entry-symlink", c_entry_symlink, "400 bad_request", "symlink"},
	{"entry-hardlink", c_entry_hardlink, "400 bad_request", "hard link"},
	{"entry-chardev", c_entry_chardev, "400 bad_request", "device"},
	{"entry-fifo", c_entry_fifo, "400 bad_request", "fifo"},
	{"entry-directory", c_entry_dir, "400 bad_request", "directory"},
	{"entry-unexpected-name", c_entry_unexpected, "400 bad_request", "unexpected"},
	{"entry-manifest-not-first", c_manifest_not_first, "400 bad_request", "first entry"},
	{"entry-blob-hash-mismatch", c_blob_mismatch, "400 bad_request", "blob"},
	{"cap-entries", c_too_many_entries, "400 bad_request|413 too_large", "entr"},
	{"cap-job-body", c_body_too_large, "413 too_large", "cap"},
	{"cap-chunked-join-body", c_join_chunked_over_cap, "closed|413 too_large", NULL},
	{"content-length-garbage", c_content_length_garbage, "400 *", NULL},
	{"content-length-negative", c_content_length_negative, "400 *", NULL},
	{"content-length-short", c_content_length_short, "400 bad_request", "bundle"},
	{"body-truncated", c_body_truncated, "closed", NULL},
	{"cap-header-bytes", c_header_huge, "431 *|413 *", NULL},
	{"cap-header-count", c_header_many, "431 *|413 *", NULL},
	{"cap-url-bytes", c_url_huge, "414 *|431 *|413 *", NULL},
	{"protocol-header-missing", c_no_protocol_header, "400 protocol_mismatch", NULL},
	{"route-unknown", c_not_found, "404 not_found", NULL},
	{"route-method", c_method, "405 method", NULL},
	{"join-malformed", c_join_malformed, "400 bad_request", "join"},
	{"join-bad-url", c_join_bad_url, "400 bad_request", "join"},
	{"auth-missing", c_auth_missing, "401 auth_missing", NULL},
	{"auth-malformed", c_auth_malformed, "401 auth_malformed", NULL},
	{"auth-overlong", c_auth_overlong, "401 auth_malformed", NULL},
	{"auth-wrong-token", c_auth_wrong_token, "401 auth_bad_mac", NULL},
	{"auth-stale", c_auth_stale, "401 auth_stale", NULL},
	{"auth-future", c_auth_future, "401 auth_stale", NULL},
	{"auth-replayed", c_auth_replayed, "401 auth_replayed", NULL},
	{"auth-forged-path", c_auth_forged_path, "401 auth_bad_mac", NULL},
	{"auth-forged-mac", c_auth_forged_mac, "401 auth_bad_mac", NULL},
	{"auth-body-altered", c_auth_body_altered, "401 auth_body_mismatch", NULL},
	{"local-frame-4GiB", c_local_frame_huge, "200 too_large", "MANIFEST_MAX_BYTES"},
	{"local-frame-over-cap", c_local_frame_over_cap, "200 too_large", "MANIFEST_MAX_BYTES"},
	{"local-frame-truncated", c_local_frame_truncated, "closed", NULL},
	{"local-frame-empty", c_local_frame_empty, "200 bad_request", NULL},
	{"local-json-malformed", c_local_json_malformed, "200 bad_request", "manifest"},
	{"local-wrong-types", c_local_wrong_types, "200 bad_request", "protocol"},
	{"local-tool-path-relative", c_local_tool_path_relative, "200 bad_request", "tool_path"},
	{"local-tool-path-device", c_local_tool_path_not_tool, "200 bad_request", "/dev/zero"},
	{"local-blob-given", c_local_blob_given, "200 bad_request", "blob"},
	{"job-loops-forever", c_job_loop, "422 limit", "--job-timeout"},
	{"job-forks-and-loops", c_job_fork_loop, "422 limit", "--job-timeout"},
	{"job-stdout-gigabytes", c_job_big_stdout, "413 too_large", "STREAM_MAX_BYTES"},
	{"job-output-gigabytes", c_job_big_output, "413 too_large", "OUTPUT_MAX_BYTES"},
	{NULL, NULL, NULL, NULL},
};
/* clang-format on */

static void got_text(const struct answer *a, char *out, size_t size)
{
	if (a->status == GOT_CLOSED)
		snprintf(out, size, "closed");
	else if (a->status == GOT_NOCONNECT)
		snprintf(out, size, "no-connection");
	else
		snprintf(out, size, "%d %s", a->status, a->code[0] ? a->code : "-");
}

/* Whether got matches one of expect's alternatives. */
static int expect_match(const char *expect, const char *got)
{
	const char *p = expect;

	while (*p) {
		const char *bar = strchr(p, '|');
		size_t n = bar ? (size_t)(bar - p) : strlen(p);

		if (n >= 2 && p[n - 1] == '*' && p[n - 2] == ' ') {
			if (strncmp(p, got, n - 1) == 0)
				return 1;
		} else if (strlen(got) == n && strncmp(p, got, n) == 0) {
			return 1;
		}
		p += n + (bar != NULL);
	}
	return 0;
}

/* The daemon still answers: GET /v1/status is 200. */
static int daemon_alive(void)
{
	struct answer a;
	int ok;

	http_simple("GET", ROUTE_STATUS, NULL, 0, &a);
	ok = a.status == 200;
	answer_release(&a);
	return ok;
}

static int run_case(const struct hcase *c)
{
	struct timespec t0, t1;
	struct answer a;
	char got[128];
	int ok, alive;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	c->run(&a);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	got_text(&a, got, sizeof(got));
	ok = expect_match(c->expect, got) && (!c->msg || strstr(a.msg, c->msg));
	alive = daemon_alive();
	printf("%s\t%s%s%s\t%s\t%s\t%.1fs\t%.160s\n", c->name, c->expect, c->msg ? " ~" : "",
	       c->msg ? c->msg : "", got, ok && alive ? "OK" : alive ? "FAIL" : "FAIL(daemon down)",
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       a.msg);
	fflush(stdout);
	answer_release(&a);
	return ok && alive;
}

/* --- idle connections --- */

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int open_idle(const char *source, int half)
{
	struct sockaddr_in src = {.sin_family = AF_INET};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	inet_pton(AF_INET, source, &src.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
	    (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)) {
		close(fd);
		return -1;
	}
	if (half) {
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		static const char part[] = "POST /v1/job HTTP/1.1\r\nHost: x\r\nX-Slow: ";
		if (poll(&p, 1, 1000) == 1)
			send(fd, part, sizeof(part) - 1, MSG_NOSIGNAL);
	}
	return fd;
}

/* How many of fds the daemon has closed (EOF or reset). */
static int count_closed(const int *fds, int n)
{
	int closed = 0;

	for (int i = 0; i < n; i++) {
		struct pollfd p = {.fd = fds[i], .events = POLLIN};
		char c;

		if (fds[i] < 0 || (poll(&p, 1, 0) == 1 && recv(fds[i], &c, 1, MSG_DONTWAIT) <= 0))
			closed++;
	}
	return closed;
}

static int cmd_idle(const char *source, int count, int seconds, const char *ready)
{
	int *fds = xcalloc((size_t)count, sizeof(*fds));
	int opened = 0;
	FILE *f;

	raise_nofile();
	for (int i = 0; i < count; i++) {
		fds[i] = open_idle(source, i % 2);
		opened += fds[i] >= 0;
	}
	sleep(1);
	printf("idle: opened %d of %d from %s; %d closed by the daemon after 1 s\n", opened,
	       count, source, count_closed(fds, count));
	fflush(stdout);
	if (ready && (f = fopen(ready, "w"))) {
		fprintf(f, "opened %d\n", opened);
		fclose(f);
	}
	sleep((unsigned)seconds);
	printf("idle: %d of %d closed by the daemon after %d s more\n", count_closed(fds, count),
	       count, seconds);
	for (int i = 0; i < count; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return 0;
}

/* --- toolchain upload --- */

static int cmd_put(const char *path)
{
	struct stat st;
	char h[HASH_HEX_LEN + 1], url[128];
	struct answer a;
	char *data;
	FILE *f = fopen(path, "rb");

	if (!f || fstat(fileno(f), &st) < 0) {
		perror(path);
		return 2;
	}
	data = xmalloc((size_t)st.st_size + 1);
	if (fread(data, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		perror(path);
		return 2;
	}
	fclose(f);
	hash_buf(data, (size_t)st.st_size, h);
	snprintf(url, sizeof(url), "%s%s", ROUTE_TOOLCHAIN_PREFIX, h);
	http_simple("PUT", url, data, (size_t)st.st_size, &a);
	free(data);
	if (a.status != 200 && a.status != 201) {
		fprintf(stderr, "hostile: PUT %s: %d %s %s\n", url, a.status, a.code, a.msg);
		return 1;
	}
	answer_release(&a);
	printf("%s\n", h);
	return 0;
}

/* --- main --- */

static int atoi_or(const char *s)
{
	return (int)strtol(s, NULL, 10);
}

static int usage(void)
{
	fprintf(stderr, "usage: hostile cases|list|idle|put [options] [CASE...|FILE]\n"
			"  --port P --socket PATH --token-file F --canary NAME --tool SHA256\n"
			"  --source ADDR --count N --seconds S --ready FILE\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *source = "127.0.0.2", *ready = NULL, *token = NULL;
	int count = 3000, seconds = 10, i, failed = 0, ran = 0;
	struct err e = {0};

	if (argc < 2)
		return usage();
	opt.canary = "GODISTCC-CANARY";
	for (i = 2; i < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		const char *k = argv[i] + 2, *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return usage();
		if (!strcmp(k, "port"))
			opt.port = (unsigned)strtoul(v, NULL, 10);
		else if (!strcmp(k, "socket"))
			opt.socket = v;
		else if (!strcmp(k, "token-file"))
			token = v;
		else if (!strcmp(k, "canary"))
			opt.canary = v;
		else if (!strcmp(k, "tool"))
			opt.tool = v;
		else if (!strcmp(k, "source"))
			source = v;
		else if (!strcmp(k, "count"))
			count = atoi_or(v);
		else if (!strcmp(k, "seconds"))
			seconds = atoi_or(v);
		else if (!strcmp(k, "ready"))
			ready = v;
		else
			return usage();
	}
	if (!strcmp(argv[1], "list")) {
		for (const struct hcase *c = cases; c->name; c++)
			printf("%s\n", c->name);
		return 0;
	}
	if (token) {
		if (auth_key_load(token, &opt.key, &e) < 0) {
			fprintf(stderr, "hostile: %s\n", err_msg(&e));
			return 2;
		}
		opt.have_key = 1;
	}
	if (!strcmp(argv[1], "idle"))
		return cmd_idle(source, count, seconds, ready);
	if (!strcmp(argv[1], "put"))
		return i < argc ? cmd_put(argv[i]) : usage();
	if (strcmp(argv[1], "cases") != 0)
		return usage();
	for (const struct hcase *c = cases; c->name; c++) {
		int wanted = i == argc;
		for (int k = i; k < argc && !wanted; k++)
			wanted = strcmp(argv[k], c->name) == 0;
		if (!wanted)
			continue;
		ran++;
		failed += !run_case(c);
	}
	if (opt.have_key)
		auth_key_release(&opt.key);
	fprintf(stderr, "hostile: %d cases, %d failed\n", ran, failed);
	return failed ? 1 : ran ? 0 : 2;
}
