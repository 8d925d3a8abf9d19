# Hostile input (the security issue's suite): t/tools/hostile sends about
# 90 crafted requests (malformed JSON, wrong types, truncated and corrupt
# bundles, traversal and absolute names, links and devices, zstd bombs,
# oversized bodies, headers and frames, unknown and mismatched toolchains,
# missing, wrong, stale, replayed and forged auth, jobs that loop forever or
# write gigabytes) to a dispatchd built with AddressSanitizer and
# UndefinedBehaviorSanitizer and run with a token, over HTTP and the local
# socket. At the same time 3000 idle connections from 127.0.0.2 are held
# open and a normal build runs through godistcc over HTTP from 127.0.0.1.
# Each case must get its documented answer and leave the daemon answering;
# the build's outputs must equal a plain build's; no canary name from a
# traversal may appear outside the daemon's state and sandbox directories;
# no tool process may outlive its job; the sanitizers must report nothing.
need_bins
HOSTILE=$ROOT/t/tools/bin/hostile
DISPATCHD=${GODISTCC_DISPATCHD_ASAN:-$ROOT/bin-asan/dispatchd}
[[ -x $HOSTILE ]] || fail "prerequisite: $HOSTILE is missing (run make tools)"
[[ -x $DISPATCHD ]] || fail "prerequisite: $DISPATCHD is missing (run make bin-asan/dispatchd)"
command -v cc >/dev/null || fail "prerequisite: no C compiler for the test tool"
export DAEMON_TRANSPORT=http
canary="godistcc-canary-$$-$RANDOM$RANDOM"
sandboxes="/dev/shm/godistcc-hostile-$$"
idle_pid=

cleanup_hostile() {
	[[ -z $idle_pid ]] || kill "$idle_pid" 2>/dev/null || true
	rm -rf "$sandboxes"
}
trap 'cleanup_hostile; _on_exit' EXIT

# Any sanitizer report ends the daemon and lands in $T_DIR/sanitizer.PID.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:log_path=$T_DIR/sanitizer"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$T_DIR/sanitizer"

(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T_DIR/token")
export GODISTCC_TOKEN_FILE="$T_DIR/token"
DAEMON_TOKEN_FILE="$T_DIR/token"

# The job's "compiler": a tiny static program that the client uploads like
# any toolchain; its -p value says how to misbehave.
cat >"$T_DIR/faketool.c" <<'EOF'
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static char chunk[1 << 20];

int main(int argc, char **argv)
{
	const char *out = NULL, *p = "write";
	int fd;

	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "-o"))
			out = argv[i + 1];
		else if (!strcmp(argv[i], "-p"))
			p = argv[i + 1];
	}
	memset(chunk, 'x', sizeof(chunk));
	/* Hangs rather than spins: a spinning job would compete with the
	 * normal build's compiles for the CPUs until killed, pushing them
	 * past the job timeout on a loaded machine (CPU limits per job are
	 * the sandbox's, t/integration/test_sandbox.sh). */
	if (!strcmp(p, "loop") || !strcmp(p, "forkloop")) {
		if (!strcmp(p, "forkloop"))
			fork(); /* the child must die with its group */
		for (;;)
			pause();
	}
	if (!strcmp(p, "stdout")) { /* 2 GiB */
		for (int i = 0; i < 2048; i++)
			if (write(1, chunk, sizeof(chunk)) < 0)
				return 1;
		return 0;
	}
	if (!out || (fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		return 2;
	if (!strcmp(p, "bigfile")) { /* 1100 MiB, past OUTPUT_MAX_BYTES */
		for (int i = 0; i < 1100; i++)
			if (write(fd, chunk, sizeof(chunk)) < 0)
				return 3;
	} else if (write(fd, "ok\n", 3) != 3) {
		return 3;
	}
	return close(fd) < 0;
}
EOF
cc -static -O1 -o "$T_DIR/faketool" "$T_DIR/faketool.c" 2>/dev/null ||
	cc -O1 -o "$T_DIR/faketool" "$T_DIR/faketool.c"

mod=$(copy_testmod)
cd "$mod"
# The reference first: at nice 0 it would starve the jobs (nice 10) of
# the normal build, which the looping jobs already compete with.
must_go plain plain build ./...
mkdir -p "$sandboxes"
# --connection-timeout 120: the idle connections outlast the build, so
# only the per-address limit keeps the daemon serving others. The normal
# build's compiles share two CPUs with the hostile cases (and whatever
# else runs): --job-timeout 20 leaves them room.
start_daemon --token-file "$T_DIR/token" --job-timeout 20 --connection-timeout 120 \
	--sandbox-dir "$sandboxes"
tool=$("$HOSTILE" put --port "$DAEMON_PORT" --token-file "$T_DIR/token" "$T_DIR/faketool")
note "test tool uploaded as toolchain $tool"

"$HOSTILE" idle --port "$DAEMON_PORT" --source 127.0.0.2 --count 3000 --seconds 600 \
	--ready "$T_DIR/idle.ready" >"$T_DIR/idle.log" 2>&1 &
idle_pid=$!
for ((i = 0; i < 300; i++)); do
	[[ -s $T_DIR/idle.ready ]] && break
	sleep 0.1
done
[[ -s $T_DIR/idle.ready ]] || fail "the idle connections were not opened within 30 s"
note "$(cat "$T_DIR/idle.log")"

# The normal build runs while the hostile cases do.
(must_go dist dist build ./...) &
dist_pid=$!

rc=0
"$HOSTILE" cases --port "$DAEMON_PORT" --socket "$DAEMON_SOCKET" --token-file "$T_DIR/token" \
	--canary "$canary" --tool "$tool" >"$T_DIR/cases.tsv" 2>"$T_DIR/cases.err" || rc=$?
{
	printf 'case\texpected (~ message has)\tgot\tverdict\ttime\tmessage\n'
	cat "$T_DIR/cases.tsv"
} | column -t -s $'\t' | cut -c1-200
cat "$T_DIR/cases.err"
ncases=$(grep -c $'\tOK\t' "$T_DIR/cases.tsv" || true)
((rc == 0)) || fail "hostile cases failed: $(grep -v $'\tOK\t' "$T_DIR/cases.tsv" | cut -f1,3,4 | tr '\t\n' ' ;')"
((ncases >= 30)) || fail "only $ncases hostile cases passed (want at least 30)"

rc=0
wait "$dist_pid" || rc=$?
((rc == 0)) || fail "the normal build through godistcc failed during the hostile cases"
held=$(sed -n 's/.*; \([0-9]*\) closed by the daemon after 1 s/\1/p' "$T_DIR/idle.log")
[[ -n $held ]] || fail "idle: no count in $(cat "$T_DIR/idle.log")"
kill -0 "$idle_pid" 2>/dev/null || fail "the idle connections' holder ended early"
note "idle: the daemon held $((3000 - held)) connections from 127.0.0.2 and closed $held"
((3000 - held > 0)) || fail "the daemon held none of the idle connections (per-address limit too low?)"
kill "$idle_pid" 2>/dev/null || true
wait "$idle_pid" 2>/dev/null || true
idle_pid=
assert_same_cache plain dist
jobs=$(daemon_get /v1/status | jq -r .jobs_completed)
note "jobs completed by the daemon: $jobs"

# Nothing written outside the daemon's directories.
found=$(find /tmp /dev/shm "$(dirname "$T_DIR")" / "$HOME" -xdev -maxdepth 3 \
	-name "*$canary*" -not -path "$DAEMON_STATE/*" -not -path "$sandboxes/*" \
	-not -path "$T_DIR/*" 2>/dev/null | head -n 5 || true)
[[ -z $found ]] || fail "a canary of a traversal case was written outside the daemon: $found"
# No tool process outlives its job.
left=0
for p in /proc/[0-9]*; do
	exe=$(readlink "$p/exe" 2>/dev/null || true)
	[[ $exe == "$DAEMON_STATE"/* ]] && left=$((left + 1))
done
((left == 0)) || fail "$left processes of the uploaded tool still run after their jobs"

stop_daemon
reports=$(ls "$T_DIR"/sanitizer.* 2>/dev/null || true)
if [[ -n $reports ]]; then
	head -n 40 $reports
	fail "sanitizer report(s): $reports"
fi
note "hostile: $ncases cases answered as documented; the daemon kept serving"
