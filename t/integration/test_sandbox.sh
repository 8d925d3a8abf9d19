# Sandbox: a daemon started as root with --user nobody runs a hostile
# "compile" (t/tools/hostiletool.c, built statically), uploaded as a
# toolchain by an authenticated client. Each attack is one job, its orders
# in the job's input file: reading files outside the sandbox, writing into
# the state directory, connecting to a TCP port on 127.0.0.1, a fork bomb,
# endless allocation, endless CPU, sleeping forever, a gigabyte in one file
# and in many, and setsid() children that try to outlive the tool. Each
# fails or is killed at its limit and is logged, the daemon keeps serving,
# no process of the jobs' user survives, and a normal build through the
# same daemon, while an attack runs, is byte-identical to a plain one.
need_bins
[[ $(id -u) == 0 ]] || fail "prerequisite: this test starts dispatchd as root (CI runs as root)"
id nobody >/dev/null 2>&1 || fail "prerequisite: no user nobody"
command -v cc >/dev/null || fail "prerequisite: no C compiler for the static hostile tool"

# The daemon runs as nobody: its port file and state live where nobody
# may write (the test's own directory is root's, mode 700).
box=$(mktemp -d /tmp/godistcc-sandbox.XXXXXX)
chmod 755 "$box"
chown nobody "$box"
state=$box/state
DAEMON_LOG=$T_DIR/daemon.log
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$box/token")
chown nobody "$box/token"
DAEMON_TOKEN_FILE=$box/token
export GODISTCC_TOKEN_FILE=$box/token

# A fake GOROOT whose compile is the hostile tool. Static: the jail holds
# no shared libraries.
fake=$T_DIR/fakego/pkg/tool/linux_amd64
mkdir -p "$fake" "$T_DIR/orders" "$T_DIR/out"
cc -static -O2 -o "$fake/compile" "$ROOT/t/tools/hostiletool.c" ||
	fail "prerequisite: cannot link t/tools/hostiletool.c statically (libc.a missing?)"

timeout_s=30
"$DISPATCHD" --listen 127.0.0.1:0 --port-file "$box/port" --socket none --state-dir "$state" \
	--slots 2 --log-level debug --user nobody --token-file "$box/token" \
	--job-timeout $timeout_s --job-cpu 15 --job-memory 1024 --job-disk 64 --job-procs 128 \
	2>"$DAEMON_LOG" &
DAEMON_PID=$!
for ((i = 0; i < 200; i++)); do
	[[ -s $box/port ]] && break
	kill -0 "$DAEMON_PID" 2>/dev/null || { tail_file "$DAEMON_LOG"; fail "dispatchd --user nobody did not start"; }
	sleep 0.05
done
DAEMON_PORT=$(cat "$box/port")
DAEMON_URL=http://127.0.0.1:$DAEMON_PORT
export GODISTCC_DISPATCHER=$DAEMON_URL
status_json >/dev/null
note "dispatchd pid $DAEMON_PID at $DAEMON_URL"
grep -q 'running as user nobody' "$DAEMON_LOG" || fail "the daemon did not log dropping to nobody"
grep -q 'job jail: uid 65534, user, mount, PID and network namespaces' "$DAEMON_LOG" ||
	fail "the jail lacks namespaces on this kernel: $(grep 'job jail' "$DAEMON_LOG")"
[[ $(ps -o user= -p "$DAEMON_PID") == nobody ]] || fail "dispatchd does not run as nobody"

# hostile NAME ORDERS...: one job of the hostile tool with these orders;
# leaves its stdout in $T_DIR/orders/NAME.out and its exit status in $rc.
hostile() {
	local name=$1 src=$T_DIR/orders/$1.go
	shift
	printf '%s\n' "$@" >"$src"
	note "hostile job $name: $*"
	rc=0
	(cd "$T_DIR/orders" && "$SHIM" "$fake/compile" -o "$T_DIR/out/$name.a" -p main -pack "$src") \
		>"$T_DIR/orders/$name.out" 2>"$T_DIR/orders/$name.err" || rc=$?
	sed 's/^/    /' "$T_DIR/orders/$name.out" "$T_DIR/orders/$name.err"
	status_json >/dev/null # the daemon keeps serving
}

# expect NAME REGEX: a line of job NAME's stdout matches.
expect() {
	grep -qE "$2" "$T_DIR/orders/$1.out" || fail "job $1: no line matching '$2' in its output: $(tr '\n' '|' <"$T_DIR/orders/$1.out")"
}

# logged REGEX: the daemon logged a line matching it.
logged() {
	grep -qE "$1" "$DAEMON_LOG" || { tail_file "$DAEMON_LOG"; fail "the daemon did not log '$1'"; }
}

# no_strays: no live descendant of the daemon survives its job (a zombie
# child of the daemon, about to be reaped, holds nothing).
no_strays() {
	local left
	left=$(ps -e -o pid=,ppid=,stat= | awk -v d="$DAEMON_PID" '
		{ parent[$1] = $2; stat[$1] = $3 }
		END {
			for (p in parent) {
				if (parent[p] == d && stat[p] ~ /^Z/) continue
				for (q = parent[p]; q in parent && q != d; q = parent[q]) ;
				if (q == d) print p
			}
		}')
	[[ -z $left ]] || fail "process(es) outlived their job: $left ($(ps -o pid,ppid,stat,comm -p "$(tr '\n' ',' <<<"$left" | sed 's/,$//')" | tr '\n' '|'))"
}

hostile read "read /etc/shadow" "list /root" "list /home" "list $state" "read $state/lock" \
	"list $state/toolchains" "read $ROOT/README" "list /proc"
expect read '^uid 65534, pid 2,'
# Jobs run niced (--nice 10) as SCHED_BATCH (3) with a 50 ms time slice
# (--job-slice; kernels before 6.12 keep no slice and report 0).
slice=50000000
[[ $(printf '%s\n' 6.12 "$(uname -r)" | sort -V | head -n 1) == 6.12 ]] || slice=0
expect read "^sched: policy 3, nice 10, slice $slice ns\$"
for what in "read /etc/shadow" "list /root" "list /home" "list $state" "read $state/lock" \
	"list $state/toolchains" "read $ROOT/README" "list /proc"; do
	expect read "^$what: blocked"
done
(( rc == 3 )) || fail "read job: exit $rc, want 3 (the tool's own)"

hostile write "write $state/pwned" "write $state/toolchains/pwned" "write /tmp/pwned" "write /pwned"
for what in "write $state/pwned" "write $state/toolchains/pwned" "write /tmp/pwned" "write /pwned"; do
	expect write "^$what: blocked"
done
[[ ! -e $state/pwned && ! -e $state/toolchains/pwned ]] || fail "a job wrote into the state directory"

# The daemon's own port on 127.0.0.1 answers the test, but not the job.
curl -fsS -o /dev/null "$DAEMON_URL/v1/health" || fail "the test cannot reach $DAEMON_URL itself"
hostile connect "connect $DAEMON_PORT"
expect connect "^connect $DAEMON_PORT: blocked"

hostile forkbomb forkbomb
expect forkbomb '^forkbomb: blocked: fork failed after [0-9]+ processes'
n=$(grep -oE 'after [0-9]+ processes' "$T_DIR/orders/forkbomb.out" | grep -oE '[0-9]+')
((n < 128)) || fail "the fork bomb ran $n processes, more than --job-procs 128"
logged 'contained: the tool left [0-9]+ process\(es\) behind \(process limit reached\); killed them'
no_strays

hostile alloc alloc
expect alloc '^alloc: blocked after [0-9]+ MiB'
logged 'contained: memory limit \(1024 MiB\)'
# The job's log line says what the jailed tool cost: it touched most of
# its 1024 MiB, which takes CPU.
read -r cpu peak < <(sed -nE 's/.*: compile main: exit 3, signal 0, [0-9]+ ms, ([0-9]+) ms CPU, ([0-9]+) MiB peak$/\1 \2/p' \
	"$DAEMON_LOG" | tail -n 1)
((${peak:-0} >= 512 && ${cpu:-0} > 0)) ||
	fail "the allocating job's log line reports ${cpu:-no} ms CPU and a peak of ${peak:-no} MiB, want ≥ 512 MiB"

hostile bigfile bigfile
logged 'contained: file size limit \(64 MiB\): killed by SIGXFSZ'

hostile manyfiles manyfiles
((rc != 0)) || fail "the many-files writer was answered as a success"
logged 'contained: disk limit: the job directory grew by [0-9]+ MiB \(limit 64 MiB\)'

hostile escape escape
expect escape '^escape: started 3 setsid'
logged 'contained: the tool left 3 process\(es\) behind; killed them'
no_strays

hostile spin spin
logged 'contained: CPU time limit \(15 s\): killed by SIG(XCPU|KILL)'
# A limit the job ran into is the job's own: 422 limit, not 500 internal.
grep -qE '422.*limit.*--job-cpu' "$T_DIR/orders/spin.err" ||
	fail "the CPU-bound job was not answered 422 limit: $(cat "$T_DIR/orders/spin.err")"

# Sleeping forever while a normal build runs through the same daemon: the
# build is byte-identical, and the sleeper dies at the wall-clock timeout.
mod=$(copy_testmod)
cd "$mod"
must_go plain plain build ./...
t0=$SECONDS
hostile sleep sleep &
sleeper=$!
must_go dist dist build -p 2 ./...
assert_same_cache plain dist
wait "$sleeper" || true
((SECONDS - t0 < timeout_s + 20)) || fail "the sleeping job took $((SECONDS - t0)) s (timeout $timeout_s s)"
logged "contained: wall-clock timeout \($timeout_s s\): killed the job's processes"
grep -qE '422.*limit.*--job-timeout' "$T_DIR/orders/sleep.err" ||
	fail "the sleeping job was not answered 422 limit: $(cat "$T_DIR/orders/sleep.err")"
(( $(status_field jobs_completed) > 0 )) || fail "the daemon completed no jobs"
no_strays

stop_daemon
rm -rf "$box"
