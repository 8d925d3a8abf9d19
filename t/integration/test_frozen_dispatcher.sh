# A dispatcher that stops answering (stopped with ^Z or SIGSTOP, frozen,
# deadlocked) costs a build seconds, not the job timeout of every compile:
# a shim waiting for its answer asks the dispatcher for its cluster table
# every 5 s, and one that does not answer within 5 s is infrastructure
# trouble. The shim runs the job itself (one warning naming the process),
# and <socket>.stuck makes the shims that follow pass the dispatcher over
# for 30 s without waiting. With GODISTCC_FALLBACK=0 the build fails with
# an error saying so. Let go, the dispatcher drops the jobs it was sent
# meanwhile, whose shims ran them themselves, instead of running them.
# Once the mark is old and the dispatcher answers again, jobs go back to it
# and the mark is removed.
need_bins
mod=$(copy_testmod)
cd "$mod"
export GODISTCC_TIMEOUT=900 # the default: the wait the watch cuts short

must_go plain app build -o "$T_DIR/app.plain" ./cmd/app
start_daemon
sock=$DAEMON_SOCKET
mark=$sock.stuck
pid=$DAEMON_PID
must_go dist warm build -o "$T_DIR/app.warm" ./cmd/app
assert_same_file "$T_DIR/app.plain" "$T_DIR/app.warm"
[[ ! -e $mark ]] || fail "a build against a dispatcher that answers left $mark"
ran_before=$(status_field jobs_local)

# Stopped: the build finishes locally, byte-identical. Should the watch not
# work, the daemon is let go after 150 s, so that the build ends and the
# test fails on its time rather than hanging for 15 minutes a job.
kill -STOP "$pid"
(sleep 150 && kill -CONT "$pid" 2>/dev/null) &
guard=$!
t0=$SECONDS
GODISTCC_FALLBACK=1 must_go dist stopped build -o "$T_DIR/app.stopped" ./cmd/app
took=$((SECONDS - t0))
kill "$guard" 2>/dev/null || true
wait "$guard" 2>/dev/null || true
note "build against the stopped dispatcher: $took s"
[[ $(awk '{print $3}' "/proc/$pid/stat") == T ]] ||
	fail "the dispatcher was let go by the guard: the build waited $took s for a stopped dispatcher"
((took < 60)) || fail "the build against a stopped dispatcher took $took s (want well under 60)"
assert_same_file "$T_DIR/app.plain" "$T_DIR/app.stopped"
nwarn=$(grep -c 'godistcc: warning:' "$T_DIR/stopped/stderr" || true)
((nwarn == 1)) || fail "the build printed $nwarn warnings, want 1: $(head -c 600 "$T_DIR/stopped/stderr")"
grep -q "process $pid did not answer a status request" "$T_DIR/stopped/stderr" ||
	fail "the warning does not say the dispatcher (process $pid) did not answer: $(head -c 600 "$T_DIR/stopped/stderr")"
[[ $(cat "$mark" 2>/dev/null) == "$pid" ]] ||
	fail "$mark does not name process $pid: '$(cat "$mark" 2>/dev/null)'"
npassed=$(grep -c 'passed over: process' "$GODISTCC_LOG" || true)
note "$npassed jobs passed the stopped dispatcher over"
((npassed > 0)) || fail "no job passed the dispatcher over after it was marked stuck"

# Without fallback the build fails, at once (the mark is fresh), naming the
# dispatcher.
t0=$SECONDS
rc=0
run_go dist nofb build -o "$T_DIR/app.nofb" ./cmd/app || rc=$?
took=$((SECONDS - t0))
((rc != 0)) || fail "with GODISTCC_FALLBACK=0 the build succeeded against a stopped dispatcher"
grep -q "godistcc: error: .*dispatcher unix:$sock: passed over: process $pid" "$T_DIR/nofb/stderr" ||
	fail "the error does not say the dispatcher was passed over: $(head -c 600 "$T_DIR/nofb/stderr")"
((took < 30)) || fail "failing against a dispatcher marked stuck took $took s"

# Let go, with the mark made old: the next job asks, finds it answering,
# removes the mark, and the build runs on the dispatcher again.
kill -CONT "$pid"
for ((i = 0; i < 100; i++)); do
	dropped=$(grep -c 'the shim went away' "$DAEMON_LOG" || true)
	((dropped == 0)) || break
	sleep 0.1
done
sleep 2
ran_after=$(status_field jobs_local)
note "let go: $dropped jobs of shims gone dropped, jobs_local $ran_before -> $ran_after"
((dropped > 0 && ran_after == ran_before)) ||
	fail "let go, the dispatcher ran $((ran_after - ran_before)) jobs of shims that had left ($dropped dropped)"
touch -d '-1 min' "$mark"
before=$ran_after
must_go dist back build -x -o "$T_DIR/app.back" ./cmd/app
after=$(status_field jobs_local)
n=$(count_tool back compile)
note "after SIGCONT: $n compiles, jobs_local $before -> $after"
((n > 0 && after - before >= n)) ||
	fail "after SIGCONT only $((after - before)) of $n compiles ran on the dispatcher"
[[ ! -e $mark ]] || fail "$mark remains although the dispatcher answers again"
assert_same_file "$T_DIR/app.plain" "$T_DIR/app.back"
stop_daemon
