/* The cluster table: membership states, the choice of a host, the queue,
 * backoff after failures and the --max-load decision. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "../../dispatchd/hashset.c"
#include "../../dispatchd/peer.c"
#include "../../dispatchd/hosts.c"
#include "../../dispatchd/load.c"

#define TC_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TC_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static struct hosts *table(long self_slots)
{
	struct hosts_opts o = {.self_name = "disp",
			       .self_slots = self_slots,
			       .heartbeat_ms = 1000,
			       .down_after_ms = 3000};

	return hosts_new(&o);
}

/* A volunteer as a status poll would leave it: up, with slots and one
 * toolchain. */
static struct host *volunteer(struct hosts *h, const char *url, long slots, const char *tc)
{
	struct host *host;

	cr_assert_eq(hosts_join(h, url, NULL, NULL), 0);
	host = hosts_find_locked(h, url);
	host->slots = slots;
	if (tc)
		host_add_toolchain_locked(host, tc);
	return host;
}

static struct hosts_job job(const char *tc)
{
	return (struct hosts_job){.toolchain = tc, .units = 1000};
}

Test(hosts, state_names)
{
	cr_assert_str_eq(hosts_state_name(0, 0, 3000, 1, 0, 5000), "down", "never heard from");
	cr_assert_str_eq(hosts_state_name(0, 2000, 3000, 1, 0, 5000), "up");
	cr_assert_str_eq(hosts_state_name(0, 1000, 3000, 1, 0, 4001), "down", "silent too long");
	cr_assert_str_eq(hosts_state_name(1, 4000, 3000, 1, 0, 5000), "down", "unreachable");
	cr_assert_str_eq(hosts_state_name(0, 4000, 3000, 0, 0, 5000), "busy");
	cr_assert_str_eq(hosts_state_name(0, 4000, 3000, 1, 6000, 5000), "backoff");
	cr_assert_str_eq(hosts_state_name(0, 4000, 3000, 1, 5000, 5000), "up", "backoff over");
}

Test(hosts, urls)
{
	struct hosts *h = table(0);
	struct err e = {0};

	cr_assert(hosts_url_is_valid("http://10.0.0.2:3633"));
	cr_assert(hosts_url_is_valid("https://build1.example:3633"));
	cr_assert_not(hosts_url_is_valid("ftp://x:1"));
	cr_assert_not(hosts_url_is_valid("http://x:1/"));
	cr_assert_not(hosts_url_is_valid("http://x:1/v1/job"));
	cr_assert_not(hosts_url_is_valid("http://x y:1"));
	cr_assert_not(hosts_url_is_valid("http://x\n:1"));
	cr_assert_not(hosts_url_is_valid(""));
	cr_assert_lt(hosts_join(h, "http://evil/../", NULL, &e), 0);
	cr_assert(strstr(err_msg(&e), "is not http(s)://host:port"));
	cr_assert_not(hosts_has_volunteers(h));
	hosts_free(h);
}

Test(hosts, table_is_capped)
{
	struct hosts *h = table(1);
	struct err e = {0};
	char url[64];
	int r = 0;

	for (int i = 0; i < HOSTS_MAX + 10 && r == 0; i++) {
		snprintf(url, sizeof(url), "http://10.0.%d.%d:3633", i / 200, i % 200);
		r = hosts_join(h, url, NULL, &e);
	}
	cr_assert_lt(r, 0, "a flood of joins is refused once the table is full");
	cr_assert(strstr(err_msg(&e), "full"));
	cr_assert_eq(h->n, HOSTS_MAX);
	hosts_free(h);
}

Test(hosts, joined_host_needs_a_status_before_jobs)
{
	struct hosts *h = table(0);
	struct hosts_job j = job(TC_A);
	struct host *got = NULL;

	hosts_join(h, "http://10.0.0.2:3633", "v1", NULL);
	cr_assert(hosts_has_volunteers(h));
	/* No slots known yet: nothing can take the job. */
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), HOSTS_E_NONE);
	hosts_find_locked(h, "http://10.0.0.2:3633")->slots = 2;
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	cr_assert_str_eq(got->name, "v1");
	hosts_free(h);
}

Test(hosts, never_more_than_slots)
{
	struct hosts *h = table(0);
	struct hosts_job j = job(TC_A);
	struct host *v = volunteer(h, "http://10.0.0.2:3633", 2, TC_A), *got;

	j.deadline_ms = monotime_ms() + 300;
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	cr_assert_eq(v->inflight, 2);
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), HOSTS_E_TIMEOUT, "waited, timed out");
	hosts_done(h, v, HOST_OK, 100, 1000);
	j.deadline_ms = 0;
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	cr_assert_eq(got, v);
	hosts_free(h);
}

Test(hosts, spreads_over_equal_hosts)
{
	struct hosts *h = table(0);
	struct hosts_job j = job(TC_A);
	struct host *a = volunteer(h, "http://10.0.0.2:3633", 2, TC_A);
	struct host *b = volunteer(h, "http://10.0.0.3:3633", 2, TC_A), *got;

	for (int i = 0; i < 4; i++)
		cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	cr_assert_eq(a->inflight, 2);
	cr_assert_eq(b->inflight, 2);
	hosts_free(h);
}

Test(hosts, prefers_the_faster_and_the_one_with_the_toolchain)
{
	struct hosts *h = table(0);
	struct hosts_job j = job(TC_A);
	struct host *slow = volunteer(h, "http://10.0.0.2:3633", 4, TC_A);
	struct host *fast = volunteer(h, "http://10.0.0.3:3633", 4, TC_A);
	struct host *bare = volunteer(h, "http://10.0.0.4:3633", 4, TC_B), *got;

	slow->ms_per_unit = 0.4;
	fast->ms_per_unit = 0.1;
	bare->ms_per_unit = 0.05; /* fastest, but lacks the toolchain: +500 ms */
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	cr_assert_eq(got, fast);
	hosts_done(h, got, HOST_UNUSED, 0, 0);
	j.toolchain = TC_B;
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	cr_assert_eq(got, bare);
	hosts_free(h);
}

/* Speed is learnt from the jobs a host ran. A job that first uploaded the
 * toolchain took far longer than the host's speed says (351 ms for a 37 ms
 * job, measured): it counts as done, but teaches no speed, or a new
 * volunteer would lose every choice to slower hosts for dozens of jobs. */
Test(hosts, speed_is_learnt_but_not_from_a_toolchain_upload)
{
	struct hosts *h = table(0);
	struct hosts_job j = job(TC_A);
	struct host *v = volunteer(h, "http://10.0.0.2:3633", 1, TC_A), *got;

	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	hosts_done(h, got, HOST_OK, 3500, 0);
	cr_assert_float_eq(v->ms_per_unit, 0, 1e-9);
	cr_assert_float_eq(h->avg_job_ms, 0, 1e-9);
	cr_assert_eq(v->done, 1);
	cr_assert_eq(v->inflight, 0);
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	hosts_done(h, got, HOST_OK, 500, 1000);
	cr_assert_float_eq(v->ms_per_unit, 0.5, 1e-9);
	cr_assert_eq(v->done, 2);
	cr_assert_float_eq(h->avg_job_ms, 500, 1e-9);
	hosts_free(h);
}

Test(hosts, a_failure_backs_off_and_unreachable_is_down)
{
	struct hosts *h = table(0);
	struct hosts_job j = job(TC_A);
	struct host *a = volunteer(h, "http://10.0.0.2:3633", 1, TC_A);
	struct host *b = volunteer(h, "http://10.0.0.3:3633", 1, TC_A), *got;

	b->ms_per_unit = 10; /* a is preferred */
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	cr_assert_eq(got, a);
	hosts_done(h, a, HOST_FAILED, 10, 1000);
	cr_assert_str_eq(host_state(h, a, monotime_ms()), "backoff");
	cr_assert_eq(a->backoff_ms, HOSTS_BACKOFF_MIN_MS);
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	cr_assert_eq(got, b, "the host backing off is not chosen");
	hosts_done(h, b, HOST_UNREACHABLE, 10, 1000);
	cr_assert_str_eq(host_state(h, b, monotime_ms()), "down");
	/* A heartbeat brings it back (its backoff still runs). */
	hosts_join(h, b->url, NULL, NULL);
	cr_assert_str_eq(host_state(h, b, monotime_ms()), "backoff");
	b->backoff_until_ms = 0;
	cr_assert_str_eq(host_state(h, b, monotime_ms()), "up");
	hosts_free(h);
}

/* The "refuses" list of host i in the cluster table, as compact JSON. */
static const char *refuses_of(struct hosts *h, size_t i)
{
	static char out[512];
	json_t *doc = hosts_cluster_json(h);
	char *text = json_dumps(json_object_get(json_array_get(json_object_get(doc, "hosts"), i),
						"refuses"),
				JSON_COMPACT | JSON_ENCODE_ANY);

	snprintf(out, sizeof(out), "%s", text ? text : "(none)");
	free(text);
	json_decref(doc);
	return out;
}

Test(hosts, a_refused_toolchain_goes_elsewhere_and_nothing_else_does)
{
	struct hosts *h = table(0);
	struct hosts_job ja = job(TC_A), jb = job(TC_B);
	struct host *a = volunteer(h, "http://10.0.0.2:3633", 1, NULL);
	struct host *b = volunteer(h, "http://10.0.0.3:3633", 1, NULL), *got;

	b->ms_per_unit = 10; /* a is preferred */
	cr_assert_eq(hosts_pick(h, &ja, NULL, 0, &got), 0);
	cr_assert_eq(got, a);
	hosts_refuse_toolchain(h, a, TC_A);
	hosts_done(h, a, HOST_UNUSED, 10, 1000);
	cr_assert_str_eq(host_state(h, a, monotime_ms()), "up", "a refusal is no failure");
	cr_assert_eq(a->failed, 0);
	cr_assert_eq(hosts_pick(h, &ja, NULL, 0, &got), 0);
	cr_assert_eq(got, b, "the refused toolchain's jobs go elsewhere");
	hosts_done(h, b, HOST_OK, 10, 1000);
	cr_assert_eq(hosts_pick(h, &jb, NULL, 0, &got), 0);
	cr_assert_eq(got, a, "the refusing host still takes other toolchains");
	hosts_done(h, a, HOST_OK, 10, 1000);
	/* Alone, it is not waited for, and that is why. */
	struct host *tried[1] = {b};
	cr_assert_eq(hosts_pick(h, &ja, tried, 1, &got), HOSTS_E_REFUSED);
	/* The cluster table shows it, for the operator. */
	cr_assert_str_eq(refuses_of(h, 0), "[\"" TC_A "\"]");
	cr_assert_str_eq(refuses_of(h, 1), "[]");
	/* The refusal ends with its time, or when the host reports the
	 * toolchain as held. */
	a->refused[0].until_ms = monotime_ms() - 1;
	cr_assert_not(host_refuses(a, TC_A, monotime_ms()));
	cr_assert_str_eq(refuses_of(h, 0), "[]", "an ended refusal is not shown");
	hosts_refuse_toolchain(h, a, TC_A);
	cr_assert_eq(a->nrefused, 1, "renewed, not added twice");
	cr_assert(host_refuses(a, TC_A, monotime_ms()));
	host_add_toolchain_locked(a, TC_A);
	cr_assert_not(host_refuses(a, TC_A, monotime_ms()));
	cr_assert_eq(a->nrefused, 0);
	hosts_free(h);
}

Test(hosts, backoff_doubles_to_a_cap)
{
	struct hosts *h = table(0);
	struct host *a = volunteer(h, "http://10.0.0.2:3633", 1, TC_A);

	for (int i = 0; i < 10; i++) {
		a->inflight++;
		hosts_done(h, a, HOST_FAILED, 1, 1);
	}
	cr_assert_eq(a->backoff_ms, HOSTS_BACKOFF_MAX_MS);
	cr_assert_eq(a->failed, 10);
	a->inflight++;
	hosts_done(h, a, HOST_OK, 1, 1);
	cr_assert_eq(a->backoff_ms, 0, "a success ends the doubling");
	hosts_free(h);
}

Test(hosts, retries_skip_tried_hosts_and_end)
{
	struct hosts *h = table(0);
	struct hosts_job j = job(TC_A);
	struct host *a = volunteer(h, "http://10.0.0.2:3633", 1, TC_A);
	struct host *tried[1] = {a}, *got;

	cr_assert_eq(hosts_pick(h, &j, tried, 1, &got), HOSTS_E_NONE,
		     "nothing but the tried host: give up at once, no waiting");
	hosts_free(h);
}

Test(hosts, self_runs_jobs_when_it_has_slots)
{
	struct hosts *h = table(1);
	struct hosts_job j = job(TC_A);
	struct host *got;

	cr_assert_not(hosts_has_volunteers(h));
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	cr_assert(host_is_self(got));
	cr_assert_null(host_peer(got));
	hosts_done(h, got, HOST_OK, 10, 1000);
	hosts_free(h);
}

struct waiter {
	struct hosts *h;
	double units; /* 0: the default job's */
	double rank;
	int order;
	struct host *got;
	int r;
};

static pthread_mutex_t order_mu = PTHREAD_MUTEX_INITIALIZER;
static int order_next;

static void *wait_main(void *arg)
{
	struct waiter *w = arg;
	struct hosts_job j = job(TC_A);

	if (w->units)
		j.units = w->units;
	j.rank = w->rank;
	j.deadline_ms = monotime_ms() + 5000;
	w->r = hosts_pick(w->h, &j, NULL, 0, &w->got);
	pthread_mutex_lock(&order_mu);
	w->order = order_next++;
	pthread_mutex_unlock(&order_mu);
	return NULL;
}

/* Waiters of equal jobs are served in arrival order. */
Test(hosts, queue_is_first_come_first_served)
{
	struct hosts *h = table(0);
	struct hosts_job j = job(TC_A);
	struct host *v = volunteer(h, "http://10.0.0.2:3633", 1, TC_A), *got;
	struct waiter w[3] = {{.h = h}, {.h = h}, {.h = h}};
	pthread_t t[3];

	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	for (int i = 0; i < 3; i++) {
		pthread_create(&t[i], NULL, wait_main, &w[i]);
		while (h->queued < i + 1) /* arrival order */
			usleep(1000);
	}
	for (int i = 0; i < 3; i++) {
		hosts_done(h, v, HOST_OK, 10, 1000);
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].r, 0);
		cr_assert_eq(w[i].order, i, "waiter %d served in turn %d", i, w[i].order);
	}
	cr_assert_eq(h->queued, 0);
	hosts_free(h);
}

/* The waiting job of the highest rank (the most work waits on it,
 * critpath.h) takes the next free slot, whenever it arrived; a larger job
 * nothing waits on does not go first. */
Test(hosts, queue_serves_the_highest_rank_first)
{
	struct hosts *h = table(0);
	struct hosts_job j = job(TC_A);
	struct host *v = volunteer(h, "http://10.0.0.2:3633", 1, TC_A), *got;
	struct waiter w[3] = {{.h = h, .units = 90000, .rank = 100},
			      {.h = h, .units = 1000, .rank = 9000},
			      {.h = h, .units = 20000, .rank = 4000}};
	int want[3] = {2, 0, 1}; /* turn of each waiter */
	pthread_t t[3];

	order_next = 0;
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	for (int i = 0; i < 3; i++) {
		pthread_create(&t[i], NULL, wait_main, &w[i]);
		while (h->queued < i + 1)
			usleep(1000);
	}
	for (int turn = 0; turn < 3; turn++) {
		int i = turn == 0 ? 1 : turn == 1 ? 2 : 0;

		hosts_done(h, v, HOST_OK, 10, 1000);
		pthread_join(t[i], NULL);
		cr_assert_eq(w[i].r, 0);
	}
	for (int i = 0; i < 3; i++)
		cr_assert_eq(w[i].order, want[i], "waiter %d (rank %.0f) served in turn %d, want %d",
			     i, w[i].rank, w[i].order, want[i]);
	cr_assert_eq(h->queued, 0);
	hosts_free(h);
}

Test(hosts, stop_fails_waiters)
{
	struct hosts *h = table(0);
	struct hosts_job j = job(TC_A);
	struct host *got;
	struct waiter w = {.h = h};
	pthread_t t;

	volunteer(h, "http://10.0.0.2:3633", 1, TC_A);
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	pthread_create(&t, NULL, wait_main, &w);
	while (h->queued < 1)
		usleep(1000);
	hosts_stop(h);
	pthread_join(t, NULL);
	cr_assert_eq(w.r, HOSTS_E_CLOSED);
	hosts_free(h);
}

Test(hosts, busy_when_the_queue_is_slower_than_the_job)
{
	struct hosts *h = table(0);
	struct hosts_job j = job(TC_A);
	struct host *v = volunteer(h, "http://10.0.0.2:3633", 1, TC_A), *got;

	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	hosts_done(h, v, HOST_OK, 1000, 1000); /* 1 ms per unit, 1 s per job */
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), 0);
	j.client_may_run = 1;
	j.units = 100; /* 100 ms here; the slot frees in about 1 s */
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), HOSTS_E_BUSY);
	j.client_may_run = 0;
	j.deadline_ms = monotime_ms() + 100;
	cr_assert_eq(hosts_pick(h, &j, NULL, 0, &got), HOSTS_E_TIMEOUT, "queued instead");
	hosts_free(h);
}

Test(hosts, queue_estimate)
{
	cr_assert_not(hosts_queue_slower(0, 4, 0, 0), "nothing known: queue");
	cr_assert_not(hosts_queue_slower(0, 4, 100, 200), "a slot frees in 50 ms");
	cr_assert(hosts_queue_slower(8, 4, 100, 200), "9 ahead on 4 slots: 450 ms");
	cr_assert_not(hosts_queue_slower(8, 0, 100, 200));
}

Test(hosts, cluster_document)
{
	struct hosts *h = table(2);
	struct host *v = volunteer(h, "http://10.0.0.2:3633", 3, TC_A);
	json_t *doc, *hs, *row;

	free(v->name);
	v->name = xstrdup("v1");
	doc = hosts_cluster_json(h);
	hs = json_object_get(doc, "hosts");
	cr_assert_eq(json_array_size(hs), 2);
	row = json_array_get(hs, 0);
	cr_assert_str_eq(json_string_value(json_object_get(row, "source")), "self");
	cr_assert_eq(json_integer_value(json_object_get(row, "slots")), 2);
	cr_assert(json_is_null(json_object_get(row, "url")));
	row = json_array_get(hs, 1);
	cr_assert_str_eq(json_string_value(json_object_get(row, "name")), "v1");
	cr_assert_str_eq(json_string_value(json_object_get(row, "source")), "join");
	cr_assert_str_eq(json_string_value(json_object_get(row, "state")), "up");
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(row, "toolchains"), 0)),
			 TC_A);
	json_decref(doc);
	hosts_free(h);
}

Test(hosts, status_answers_are_checked)
{
	struct hosts *h = table(0);
	struct host *v = volunteer(h, "http://10.0.0.2:3633", 0, NULL);
	json_t *st = json_pack("{s:I, s:s, s:[s, s, i], s:b}", "slots", (json_int_t)-5, "host", "n",
			       "toolchains", TC_B, "../../etc", 7, "accepting", 0);

	hosts_take_status_locked(v, st, monotime_ms());
	cr_assert_eq(v->slots, 0, "negative slots are not taken");
	cr_assert_eq(v->ntoolchains, 1, "only valid hashes are kept");
	cr_assert_str_eq(host_state(h, v, monotime_ms()), "busy");
	json_decref(st);
	hosts_free(h);
}

Test(load, max_load_decision)
{
	cr_assert(load_accepting_at(0, 50, 0), "off");
	cr_assert(load_accepting_at(2, 2.5, 1), "owner's load 1.5");
	cr_assert_not(load_accepting_at(2, 4.5, 2), "owner's load 2.5");
	cr_assert(load_accepting_at(2, -1, 0), "unknown load: take jobs");
	cr_assert_geq(load_owner(0), 0, "this machine has /proc/loadavg");
}
