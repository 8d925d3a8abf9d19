/*
 * Network helpers for t/integration/netns.sh, for kernels without the netem
 * queueing discipline (CONFIG_NET_SCH_NETEM), where "tc qdisc ... netem
 * delay 1ms" cannot add latency between network namespaces:
 *
 *   netlag relay TAP_A TAP_B DELAY_AB_US DELAY_BA_US READY_FILE
 *     creates two TAP devices in the current network namespace and copies
 *     every Ethernet frame read from one to the other, DELAY_AB_US (from A
 *     to B) or DELAY_BA_US (from B to A) microseconds after it arrived,
 *     in order, as netem's fixed delay would. Writes READY_FILE once both
 *     devices exist (the caller then moves A into a namespace and puts B on
 *     a bridge). Runs until killed; the devices go with it. A queue holds
 *     at most 10000 frames per direction; more are dropped, as netem's
 *     default limit drops them. The devices take TCP segmentation and
 *     checksum offload (a frame is then a TCP segment of up to 64 KiB
 *     behind a virtio-net header), so the relay wakes once per segment
 *     the stack sends, as netem would see it, not once per 1500 bytes
 *     (300 MB at 1 Gbit/s: 4844 frames, not 217256, and a quarter of
 *     the relays' CPU time).
 *   netlag echo PORT
 *     answers every UDP datagram sent to PORT with the same bytes.
 *   netlag ping HOST PORT COUNT
 *     sends COUNT datagrams to a "netlag echo", one at a time, and prints
 *     the round-trip time of each and min/avg/max in milliseconds; exits
 *     1 when an answer does not come within 2 s.
 *
 * No ping command is needed (Debian's minimal images have none).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A frame: the virtio-net header, then up to 64 KiB of IP packet (GSO)
 * behind its Ethernet header. */
#define FRAME_MAX (65536 + 256)
#define QUEUE_MAX 10000

static void die(const char *what)
{
	fprintf(stderr, "netlag: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long parse_long(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "netlag: bad %s '%s' (want %ld..%ld)\n", what, s, min, max);
		exit(2);
	}
	return v;
}

/* --- relay --------------------------------------------------------------- */

struct frame {
	struct frame *next;
	int64_t due;
	size_t len;
	unsigned char data[];
};

struct dir {
	int in, out;
	int64_t delay_ns;
	struct frame *head, *tail;
	size_t n;
	unsigned long dropped;
};

static int tap_open(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		die("open /dev/net/tun");
	memset(&ifr, 0, sizeof ifr);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (strlen(name) >= IFNAMSIZ) {
		fprintf(stderr, "netlag: device name '%s' is too long\n", name);
		exit(2);
	}
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		die(name);
	/* Let the kernel hand over and take TCP segments of up to 64 KiB
	 * with their checksums still to do, as it does with a NIC that
	 * offloads them (and as netem delays them): one frame per segment,
	 * not one per 1500 bytes. Both devices of a relay use the same
	 * header, so a frame is copied as it was read. */
	if (ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0)
		die("TUNSETOFFLOAD");
	return fd;
}

/* Reads every frame waiting on d->in (a bounded number per call, so that
 * one busy direction cannot starve the other) into d's queue. */
static void dir_read(struct dir *d, unsigned char *buf)
{
	for (int i = 0; i < 256; i++) {
		ssize_t n = read(d->in, buf, FRAME_MAX);
		struct frame *f;

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			die("read");
		}
		if (n == 0)
			return;
		if (d->n >= QUEUE_MAX) {
			d->dropped++;
			continue;
		}
		f = malloc(sizeof *f + (size_t)n);
		if (!f)
			die("malloc");
		f->next = NULL;
		f->due = now_ns() + d->delay_ns;
		f->len = (size_t)n;
		memcpy(f->data, buf, (size_t)n);
		if (d->tail)
			d->tail->next = f;
		else
			d->head = f;
		d->tail = f;
		d->n++;
	}
}

/* Writes the frames that are due; returns the time the next one is due,
 * or -1 when the queue is empty. */
static int64_t dir_flush(struct dir *d)
{
	int64_t now = now_ns();

	while (d->head && d->head->due <= now) {
		struct frame *f = d->head;

		/* A TAP device takes a frame at once or drops it (as a full
		 * link would): never wait here. */
		if (write(d->out, f->data, f->len) < 0 && errno != EAGAIN && errno != ENOBUFS &&
		    errno != EINTR && errno != EIO)
			die("write");
		d->head = f->next;
		if (!d->head)
			d->tail = NULL;
		d->n--;
		free(f);
	}
	return d->head ? d->head->due : -1;
}

static int relay(char **argv)
{
	struct dir dirs[2];
	unsigned char *buf = malloc(FRAME_MAX);
	int a, b;
	FILE *ready;

	if (!buf)
		die("malloc");
	/* Wake up within microseconds of a frame's due time, not the default
	 * 50 us timer slack later. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	a = tap_open(argv[0]);
	b = tap_open(argv[1]);
	dirs[0] = (struct dir){.in = a, .out = b,
			       .delay_ns = parse_long(argv[2], 0, 10000000, "delay") * 1000};
	dirs[1] = (struct dir){.in = b, .out = a,
			       .delay_ns = parse_long(argv[3], 0, 10000000, "delay") * 1000};
	ready = fopen(argv[4], "w");
	if (!ready || fprintf(ready, "%ld\n", (long)getpid()) < 0 || fclose(ready) != 0)
		die(argv[4]);
	for (;;) {
		struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
		int64_t next = -1, t;
		struct timespec ts, *tsp = NULL;

		for (int i = 0; i < 2; i++) {
			t = dir_flush(&dirs[i]);
			if (t >= 0 && (next < 0 || t < next))
				next = t;
		}
		if (next >= 0) {
			t = next - now_ns();
			if (t < 0)
				t = 0;
			ts.tv_sec = t / 1000000000;
			ts.tv_nsec = t % 1000000000;
			tsp = &ts;
		}
		if (ppoll(p, 2, tsp, NULL) < 0) {
			if (errno == EINTR)
				continue;
			die("ppoll");
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
				fprintf(stderr, "netlag: %s went away\n", argv[i]);
				return 0;
			}
			if (p[i].revents & POLLIN)
				dir_read(&dirs[i], buf);
		}
	}
}

/* --- echo and ping ---------------------------------------------------------- */

_Noreturn static void echo(char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
	unsigned char buf[2048];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	sa.sin_port = htons((uint16_t)parse_long(argv[0], 1, 65535, "port"));
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("bind");
	for (;;) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recvfrom");
		}
		(void)!sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

static int ping(char **argv)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *ai;
	long count = parse_long(argv[2], 1, 1000, "count");
	double min = 0, max = 0, sum = 0;
	int fd, r;

	if ((r = getaddrinfo(argv[0], argv[1], &hints, &ai)) != 0) {
		fprintf(stderr, "netlag: %s: %s\n", argv[0], gai_strerror(r));
		return 2;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("connect");
	freeaddrinfo(ai);
	for (long i = 0; i < count; i++) {
		char msg[64], got[64];
		int64_t t0;
		double ms;
		int len = snprintf(msg, sizeof msg, "netlag %ld %ld", (long)getpid(), i);

		t0 = now_ns();
		if (send(fd, msg, (size_t)len, 0) < 0)
			die("send");
		for (;;) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			ssize_t n;
			int left = 2000 - (int)((now_ns() - t0) / 1000000);

			if (left <= 0 || poll(&p, 1, left) == 0) {
				fprintf(stderr, "netlag: no answer from %s:%s within 2 s\n", argv[0],
					argv[1]);
				return 1;
			}
			n = recv(fd, got, sizeof got, 0);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				die("recv");
			}
			if (n == len && memcmp(got, msg, (size_t)len) == 0)
				break; /* else a late answer to an earlier probe */
		}
		ms = (double)(now_ns() - t0) / 1e6;
		printf("%zu bytes from %s:%s: seq=%ld time=%.3f ms\n", (size_t)len, argv[0], argv[1],
		       i, ms);
		if (i == 0 || ms < min)
			min = ms;
		if (ms > max)
			max = ms;
		sum += ms;
		if (i + 1 < count)
			usleep(100000);
	}
	printf("rtt min/avg/max = %.3f/%.3f/%.3f ms\n", min, sum / (double)count, max);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: netlag relay TAP_A TAP_B DELAY_AB_US DELAY_BA_US READY_FILE\n"
			"       netlag echo PORT\n"
			"       netlag ping HOST PORT COUNT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 7 && strcmp(argv[1], "relay") == 0)
		return relay(argv + 2);
	if (argc == 3 && strcmp(argv[1], "echo") == 0)
		echo(argv + 2);
	if (argc == 5 && strcmp(argv[1], "ping") == 0)
		return ping(argv + 2);
	usage();
	return 2;
}
