# The local socket as users get it: with GODISTCC_DISPATCHER unset (auto),
# a shim finds its user's dispatchd at the default socket and every compile
# runs there, byte-identical to a plain build. A second dispatchd refuses
# the socket a live one holds. A dead daemon's socket makes auto fall back
# (locally, one warning); unix:PATH with GODISTCC_FALLBACK=0 fails with an
# error naming the socket. Sandboxes go to a private directory on /dev/shm
# (a tmpfs) by default, removed at shutdown.
need_bins
mod=$(copy_testmod)
cd "$mod"
export XDG_RUNTIME_DIR="$T_DIR/run"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
sock="$XDG_RUNTIME_DIR/godistcc/dispatchd.sock"
mkdir -m 0700 "$XDG_RUNTIME_DIR/godistcc"

must_go plain app build -x -o "$T_DIR/app.plain" ./cmd/app
DAEMON_SOCKET_AT=$sock start_daemon
[[ -S $sock ]] || fail "dispatchd did not create $sock"
[[ $(stat -c %a "$sock") == 600 ]] || fail "$sock has mode $(stat -c %a "$sock"), want 600"

# auto: no GODISTCC_DISPATCHER at all.
unset GODISTCC_DISPATCHER
before=$(status_field jobs_local)
must_go dist app-d build -x -o "$T_DIR/app.dist" ./cmd/app
after=$(status_field jobs_local)
n=$(count_tool app-d compile)
note "auto: $n compiles, jobs_local $before -> $after"
((n > 20 && after - before >= n)) ||
	fail "with GODISTCC_DISPATCHER unset, $((after - before)) of $n compiles used the local socket"
assert_same_cache app app-d
assert_same_file "$T_DIR/app.plain" "$T_DIR/app.dist"
# Each job's log line says what the tool itself cost: a compile's peak
# resident set is tens of MiB, and the compiles took CPU.
read -r peak cpu < <(sed -nE 's/.*: compile [^ ]+ \(local\): exit 0, signal 0, [0-9]+ ms, ([0-9]+) ms CPU, ([0-9]+) MiB peak$/\2 \1/p' \
	"$DAEMON_LOG" | awk '$1 > p { p = $1 } { c += $2 } END { print p + 0, c + 0 }')
note "local compiles: largest peak $peak MiB, $cpu ms CPU in all"
((peak >= 16 && cpu > 0)) ||
	fail "the job log lines report a largest peak of $peak MiB and $cpu ms CPU: $(grep -m1 '(local): exit' "$DAEMON_LOG")"

# A second daemon on the same socket refuses to start and says why.
rc=0
"$DISPATCHD" --listen 127.0.0.1:0 --state-dir "$T_DIR/second.state" --socket "$sock" \
	2>"$T_DIR/second.log" || rc=$?
((rc != 0)) || fail "a second dispatchd started on $sock"
grep -q "$sock" "$T_DIR/second.log" || fail "the second dispatchd's error does not name $sock: $(cat "$T_DIR/second.log")"
[[ -S $sock ]] || fail "the second dispatchd removed the live daemon's socket"
must_go dist app-d2 build -o "$T_DIR/app.dist2" ./cmd/app
assert_same_file "$T_DIR/app.plain" "$T_DIR/app.dist2"

# A daemon killed without cleaning up leaves its socket behind: auto tries
# it, finds nobody, goes on to the default URL (where nothing listens
# either) and compiles locally, with one warning.
kill -KILL "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
DAEMON_PID=
[[ -S $sock ]] || fail "expected the killed daemon's socket to remain"
! curl -fsS --max-time 2 http://127.0.0.1:3633/v1/status >/dev/null 2>&1 ||
	fail "prerequisite: something answers at http://127.0.0.1:3633, the default URL auto falls back to"
GODISTCC_FALLBACK=1 must_go dist stale build -o "$T_DIR/app.stale" ./cmd/app
assert_same_file "$T_DIR/app.plain" "$T_DIR/app.stale"
nwarn=$(grep -c 'godistcc: warning:' "$T_DIR/stale/stderr" || true)
((nwarn == 1)) || fail "fallback printed $nwarn warnings, want 1: $(head -c 400 "$T_DIR/stale/stderr")"

# unix:PATH without fallback: a clear error naming the socket.
rc=0
GODISTCC_DISPATCHER="unix:$sock" run_go dist nofb build -o "$T_DIR/app.nofb" ./cmd/app || rc=$?
((rc != 0)) || fail "the build succeeded with GODISTCC_FALLBACK=0 and no daemon"
grep -q "godistcc: error: .*unix:$sock" "$T_DIR/nofb/stderr" ||
	fail "the error does not name the socket: $(head -c 400 "$T_DIR/nofb/stderr")"

# A restarted daemon takes over the stale socket.
DAEMON_SOCKET_AT=$sock start_daemon
before=$(status_field jobs_local)
must_go dist again build -a -o "$T_DIR/app.again" ./cmd/app
after=$(status_field jobs_local)
((after > before)) || fail "the restarted daemon received no jobs on $sock"
assert_same_file "$T_DIR/app.plain" "$T_DIR/app.again"
sandboxes=$(sed -n 's/.*sandboxes in \(.*\))$/\1/p' "$DAEMON_LOG" | tail -n 1)
[[ -d $sandboxes ]] || fail "the daemon's log names no sandbox directory that exists ('$sandboxes')"
if [[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs ]]; then
	[[ $sandboxes == /dev/shm/dispatchd-* ]] ||
		fail "sandboxes are in $sandboxes, want /dev/shm (a tmpfs) by default"
fi
stop_daemon
[[ ! -e $sock ]] || fail "dispatchd left $sock behind after SIGTERM"
[[ ! -e $sandboxes ]] || fail "dispatchd left $sandboxes behind after SIGTERM"
