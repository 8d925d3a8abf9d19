# A dispatcher on loopback with three volunteers: one real dispatchd, one
# that answers every job with garbage and one that answers 500. With
# GODISTCC_FALLBACK=0 the build of the test module must still be
# byte-identical to a plain build: the dispatcher checks every answer,
# backs the bad volunteers off and retries their jobs on the good one.
# Then the good volunteer is killed with SIGKILL and restarted on its port:
# it is marked down, comes back up and runs jobs again. Then the
# dispatcher restarts and still knows the build graph it learnt. Then
# answers that are no fault of the volunteer's: 403 toolchain_not_allowed
# (the job goes elsewhere, the toolchain is not offered there again) and
# 422 limit (the job goes back to the client); neither backs it off. And
# a volunteer held back by --max-load gets no jobs. Last, volunteers
# frozen (SIGSTOP): one mid-build, whose jobs are given up and run
# elsewhere, and three beside one that answers, which stays up.
need_bins
FAKE=$ROOT/t/tools/bin/fakevolunteer
[[ -x $FAKE ]] || fail "prerequisite: $FAKE is missing (run make check)"

# start_volunteer NAME [dispatchd options]: a real volunteer on loopback;
# sets VOL_PID and VOL_URL.
start_volunteer() {
	local name=$1 i
	shift
	rm -f "$T_DIR/$name.port"
	"$DISPATCHD" --listen "${VOL_LISTEN:-127.0.0.1:0}" --port-file "$T_DIR/$name.port" \
		--socket none --state-dir "$T_DIR/$name.state" --slots 2 --name "$name" \
		--log-level debug "$@" 2>>"$T_DIR/$name.log" &
	VOL_PID=$!
	for ((i = 0; i < 200; i++)); do
		[[ -s $T_DIR/$name.port ]] && break
		sleep 0.05
	done
	[[ -s $T_DIR/$name.port ]] || fail "volunteer $name did not start: $(tail -n 3 "$T_DIR/$name.log")"
	VOL_URL=http://127.0.0.1:$(tr -d '\n' <"$T_DIR/$name.port")
	note "volunteer $name pid $VOL_PID at $VOL_URL"
}

# start_fake MODE: a misbehaving volunteer (t/tools/fakevolunteer.c); sets
# FAKE_URL.
start_fake() {
	local mode=$1 i
	"$FAKE" "$mode" "$T_DIR/fake-$mode.port" "$T_DIR/fake-$mode.count" 2 >/dev/null &
	FAKE_PIDS+=($!)
	for ((i = 0; i < 200; i++)); do
		[[ -s $T_DIR/fake-$mode.port ]] && break
		sleep 0.05
	done
	FAKE_URL=http://127.0.0.1:$(tr -d '\n' <"$T_DIR/fake-$mode.port")
}

cluster() {
	curl -fsS --max-time 5 "$DAEMON_URL/v1/cluster"
}

# host_field URL FIELD: a field of one host in the dispatcher's table.
host_field() {
	cluster | jq -r --arg u "$1" --arg f "$2" '.hosts[] | select(.url == $u) | .[$f]'
}

# vol_field URL FIELD: a field of a volunteer's own /v1/status.
vol_field() {
	curl -fsS --max-time 5 "$1/v1/status" | jq -r ".$2"
}

# wait_state URL STATE SECONDS
wait_state() {
	local i st
	for ((i = 0; i < $3 * 10; i++)); do
		st=$(host_field "$1" state)
		[[ $st == "$2" ]] && { note "$1 is $2 after $((i * 100)) ms"; return 0; }
		sleep 0.1
	done
	fail "$1 is '$st', not '$2', after $3 s: $(cluster)"
}

# On any exit, the volunteers go too; then lib.sh's own exit handler
# (which stops the dispatcher) runs as it would have.
FAKE_PIDS=()
_retry_on_exit() {
	local rc=$?
	# Exiting anyway: errexit off, or the "(exit $rc)" that hands the
	# status on to _on_exit would end this handler before _on_exit ran
	# (and the dispatcher would outlive the test).
	set +e
	trap - ERR
	kill -9 ${FAKE_PIDS[@]+"${FAKE_PIDS[@]}"} ${VOL_PID:-} 2>/dev/null || true
	(exit "$rc")
	_on_exit
}
trap _retry_on_exit EXIT

mod=$(copy_testmod)
cd "$mod"
must_go plain all build -a ./...

start_volunteer good
good_pid=$VOL_PID good_url=$VOL_URL
start_fake garbage
garbage_url=$FAKE_URL
start_fake error
error_url=$FAKE_URL
DAEMON_SLOTS=0 start_daemon --peer "$good_url" --peer "$garbage_url" --peer "$error_url"
for u in "$good_url" "$garbage_url" "$error_url"; do
	wait_state "$u" up 5
done

must_go dist all-d build -a ./...
assert_same_cache all all-d
garbage_jobs=$(cat "$T_DIR/fake-garbage.count" 2>/dev/null || echo 0)
error_jobs=$(cat "$T_DIR/fake-error.count" 2>/dev/null || echo 0)
retried=$(status_field jobs_retried)
forwarded=$(status_field jobs_forwarded)
good_done=$(vol_field "$good_url" jobs_completed)
note "forwarded $forwarded, retried $retried; good ran $good_done," \
	"garbage was sent $garbage_jobs, error $error_jobs"
((garbage_jobs > 0 && error_jobs > 0)) ||
	fail "the bad volunteers were never tried (garbage $garbage_jobs, error $error_jobs)"
((retried >= garbage_jobs + error_jobs)) ||
	fail "$((garbage_jobs + error_jobs)) failed attempts but only $retried retries"
((good_done == forwarded)) || fail "good volunteer ran $good_done of $forwarded forwarded jobs"
(($(host_field "$garbage_url" failed) == garbage_jobs)) ||
	fail "the garbage volunteer's failures are not counted: $(cluster)"
grep -q "volunteer $garbage_url failed it: .*unusable answer" "$DAEMON_LOG" ||
	fail "the dispatcher's log does not say why the garbage answer was refused"

# SIGKILL: down at once when a job or poll cannot reach it, within
# --down-after (3 s) in any case; back up once restarted on its port.
kill -9 "$good_pid"
wait "$good_pid" 2>/dev/null || true
wait_state "$good_url" down 5
VOL_LISTEN=${good_url#http://} start_volunteer good
wait_state "$good_url" up 5
before=$(vol_field "$good_url" jobs_completed)
must_go dist all-d2 build -a ./...
assert_same_cache all all-d2
after=$(vol_field "$good_url" jobs_completed)
note "restarted volunteer ran $after jobs"
((after > before)) || fail "the restarted volunteer received no jobs"
kill -9 "$VOL_PID" "${FAKE_PIDS[@]}" 2>/dev/null || true

# The build graph the dispatcher learnt outlives it: saved in its state
# directory at shutdown, loaded by the next daemon there.
learnt=$(status_field graph_packages)
((learnt > 0)) || fail "the dispatcher learnt no build graph from $forwarded forwarded jobs"
state=$DAEMON_STATE
stop_daemon
saved=$(jq '.packages | length' "$state/graph.json") ||
	fail "no build graph saved in $state at shutdown"
((saved == learnt)) || fail "$learnt packages known, $saved saved in $state/graph.json"
DAEMON_SLOTS=0 start_daemon --state-dir "$state"
(($(status_field graph_packages) == learnt)) ||
	fail "the restarted dispatcher knows $(status_field graph_packages) packages, not $learnt"
grep -q "build graph $state/graph.json: $learnt packages" "$DAEMON_LOG" ||
	fail "the restarted dispatcher's log does not say it loaded the graph"
note "the build graph ($learnt packages) survived a restart"
stop_daemon

# A volunteer whose policy refuses the build's toolchain (--toolchains
# local: 403 toolchain_not_allowed): its jobs go to the other volunteer,
# it is not backed off, and it is not offered that toolchain again.
start_volunteer good2
good2_pid=$VOL_PID good2_url=$VOL_URL
start_volunteer refuser --toolchains local
refuser_pid=$VOL_PID refuser_url=$VOL_URL
DAEMON_SLOTS=0 start_daemon --peer "$good2_url" --peer "$refuser_url"
wait_state "$good2_url" up 5
wait_state "$refuser_url" up 5
must_go dist all-r build -a ./...
assert_same_cache all all-r
refused=$(vol_field "$refuser_url" job_requests)
note "the refusing volunteer was asked $refused times"
((refused >= 1 && refused <= 2)) ||
	fail "the refusing volunteer (2 slots) was asked $refused times, want 1 or 2: the first refusals only"
[[ $(host_field "$refuser_url" state) == up && $(host_field "$refuser_url" failed) == 0 ]] ||
	fail "a 403 toolchain_not_allowed counted against the volunteer: $(cluster)"
grep -q "host $refuser_url refuses toolchain" "$DAEMON_LOG" ||
	fail "the dispatcher's log does not say the volunteer refuses the toolchain"
refused_tc=$(cluster | jq -r --arg u "$refuser_url" '.hosts[] | select(.url == $u) | .refuses | join(" ")')
[[ $refused_tc =~ ^[0-9a-f]{64}$ ]] ||
	fail "the cluster table does not show the one toolchain the volunteer refuses: $(cluster)"
"$SHIM" --status >"$T_DIR/status.txt" || fail "godistcc --status failed: $(cat "$T_DIR/status.txt")"
grep -q "refuses 1: ${refused_tc:0:8}\$" "$T_DIR/status.txt" ||
	fail "godistcc --status does not show the refusal: $(cat "$T_DIR/status.txt")"
must_go dist all-r2 build -a ./...
assert_same_cache all all-r2
(($(vol_field "$refuser_url" job_requests) == refused)) ||
	fail "the refusing volunteer was offered the toolchain again"
stop_daemon
# With nothing but the refuser, the shims are told why and build locally.
DAEMON_SLOTS=0 start_daemon --peer "$refuser_url"
wait_state "$refuser_url" up 5
GODISTCC_FALLBACK=1 must_go dist all-r3 build -a ./...
assert_same_cache all all-r3
grep -q "every host of the cluster that is up refuses toolchain .*running locally" "$GODISTCC_LOG" ||
	fail "the shims were not told that the cluster refuses the toolchain: $(grep -m2 'running locally' "$GODISTCC_LOG")"
kill -9 "$refuser_pid" 2>/dev/null || true
stop_daemon

# A volunteer that answers 422 limit (the job used up its --job-cpu): the
# job's own size, not the host's trouble. The dispatcher neither backs the
# host off nor spends the limit on another host: the client gets the 422
# and, as users run it (GODISTCC_FALLBACK=1), runs the job itself.
start_fake limit
limit_url=$FAKE_URL
DAEMON_SLOTS=0 start_daemon --peer "$good2_url" --peer "$limit_url"
wait_state "$good2_url" up 5
wait_state "$limit_url" up 5
GODISTCC_FALLBACK=1 must_go dist all-l build -a ./...
assert_same_cache all all-l
limit_jobs=$(cat "$T_DIR/fake-limit.count" 2>/dev/null || echo 0)
note "the limit volunteer was sent $limit_jobs jobs; retried $(status_field jobs_retried)"
((limit_jobs > 0)) || fail "the limit volunteer was never sent a job"
(($(status_field jobs_retried) == 0)) ||
	fail "the dispatcher retried jobs a volunteer answered 422 limit: $(status_field jobs_retried)"
[[ $(host_field "$limit_url" state) == up && $(host_field "$limit_url" failed) == 0 ]] ||
	fail "a 422 limit answer counted against the volunteer: $(cluster)"
grep -q "past a cap or limit of the volunteer, back to the client: $limit_url: answered 422: .*--job-cpu" "$DAEMON_LOG" ||
	fail "the dispatcher's log does not say why it gave the job back"
grep -q "$limit_url: answered 422: .*--job-cpu.*; running locally" "$GODISTCC_LOG" ||
	fail "the shims do not say why they ran jobs themselves"
kill -9 "$good2_pid" "${FAKE_PIDS[@]}" 2>/dev/null || true
stop_daemon

# A volunteer whose owner is busy (--max-load 0.05, while a spinning shell
# holds the one-minute load average above it): its status says it takes no
# jobs, it answers a job 503 busy, the dispatcher shows it busy and sends
# it nothing, and the build runs on the other volunteer.
start_volunteer good3
good3_pid=$VOL_PID good3_url=$VOL_URL
start_volunteer owner --max-load 0.05
owner_pid=$VOL_PID owner_url=$VOL_URL
(while :; do :; done) &
FAKE_PIDS+=($!)
for ((i = 0; i < 600; i++)); do
	[[ $(vol_field "$owner_url" accepting) == false ]] && break
	sleep 0.1
done
[[ $(vol_field "$owner_url" accepting) == false ]] ||
	fail "the volunteer with --max-load 0.05 still takes jobs at load $(cut -d' ' -f1 /proc/loadavg)"
note "the owner's volunteer stopped taking jobs after $((i * 100)) ms, load $(vol_field "$owner_url" load)"
code=$(curl -sS --max-time 5 -o "$T_DIR/busy.json" -w "%{http_code}" -X POST \
	-H "X-Godistcc-Protocol: 1" \
	--data-binary @/dev/null "$owner_url/v1/job")
[[ $code == 503 && $(jq -r .error "$T_DIR/busy.json") == busy ]] ||
	fail "a job sent to the busy volunteer got $code $(cat "$T_DIR/busy.json"), not 503 busy"
grep -q -- "--max-load 0.05" "$T_DIR/busy.json" ||
	fail "the busy answer does not name --max-load: $(cat "$T_DIR/busy.json")"
DAEMON_SLOTS=0 start_daemon --peer "$good3_url" --peer "$owner_url"
wait_state "$good3_url" up 5
wait_state "$owner_url" busy 5
must_go dist all-o build -a ./...
assert_same_cache all all-o
busy_answers=$(grep -c "POST /v1/job: 503 busy" "$T_DIR/owner.log" || true)
((busy_answers == 1 && $(vol_field "$owner_url" jobs_completed) == 0)) ||
	fail "the busy volunteer was sent $((busy_answers - 1)) jobs of the build (and ran $(vol_field "$owner_url" jobs_completed))"
(($(status_field jobs_retried) == 0)) ||
	fail "the dispatcher retried $(status_field jobs_retried) jobs: it tried the busy volunteer"
(($(vol_field "$good3_url" jobs_completed) == $(status_field jobs_forwarded))) ||
	fail "the other volunteer ran $(vol_field "$good3_url" jobs_completed) of $(status_field jobs_forwarded) jobs"
kill -9 "$good3_pid" "$owner_pid" "${FAKE_PIDS[@]}" 2>/dev/null || true
stop_daemon

# A volunteer frozen mid-build (SIGSTOP, as a machine suspended with jobs
# on it: its connections stay open and nothing answers). Once it has been
# silent for 10 s (HOSTS_GIVE_UP_MS; it is marked down after --down-after,
# 3 s), the dispatcher gives up the jobs it has there and runs them on the
# other volunteer: the build ends seconds later, not at --job-timeout
# (600 s). Thawed, the volunteer comes back up.
start_volunteer good4
good4_pid=$VOL_PID good4_url=$VOL_URL
start_volunteer frozen
frozen_pid=$VOL_PID frozen_url=$VOL_URL
FAKE_PIDS+=("$good4_pid" "$frozen_pid") # killed on exit, stopped or not
DAEMON_SLOTS=0 start_daemon --peer "$good4_url" --peer "$frozen_url"
wait_state "$good4_url" up 5
wait_state "$frozen_url" up 5
# Frozen while it runs a job of the build.
(
	for ((i = 0; i < 1200; i++)); do
		(($(vol_field "$frozen_url" running) > 0)) && break
		sleep 0.02
	done
	kill -STOP "$frozen_pid"
) &
freezer=$!
t0=$SECONDS
must_go dist all-f build -a ./...
took=$((SECONDS - t0))
wait "$freezer"
assert_same_cache all all-f
given_up=$(grep -c "volunteer $frozen_url failed it: .*gave up: the volunteer has not answered for 1[0-9] s" "$DAEMON_LOG" || true)
note "the build took $took s; $given_up job(s) given up on the frozen volunteer"
((given_up >= 1)) ||
	fail "no job was given up on the frozen volunteer: $(grep "$frozen_url" "$DAEMON_LOG" | tail -n 3)"
((took < 300)) || fail "the build took $took s with a frozen volunteer"
kill -CONT "$frozen_pid"
wait_state "$frozen_url" up 10
kill -9 "$good4_pid" "$frozen_pid" 2>/dev/null || true
stop_daemon

# Silent volunteers delay no other's status poll: with three of four
# frozen, each poll of theirs waits out its 1 s timeout, which in turn
# made a round last 4 s, past --down-after (3 s), and the one that
# answers looked down for a second of every round. Polled all at once, it
# stays up.
start_volunteer awake
awake_pid=$VOL_PID awake_url=$VOL_URL
sleepers=() sleeper_urls=()
for n in 1 2 3; do
	start_volunteer "asleep$n"
	sleepers+=("$VOL_PID")
	sleeper_urls+=("$VOL_URL")
done
FAKE_PIDS+=("$awake_pid" "${sleepers[@]}")
DAEMON_SLOTS=0 start_daemon --peer "$awake_url" --peer "${sleeper_urls[0]}" \
	--peer "${sleeper_urls[1]}" --peer "${sleeper_urls[2]}"
for u in "$awake_url" "${sleeper_urls[@]}"; do
	wait_state "$u" up 5
done
kill -STOP "${sleepers[@]}"
for u in "${sleeper_urls[@]}"; do
	wait_state "$u" down 10
done
for ((i = 0; i < 80; i++)); do
	st=$(host_field "$awake_url" state)
	[[ $st == up ]] || fail "the volunteer that answers is '$st' while three others are frozen (sample $i of 80, 100 ms apart)"
	sleep 0.1
done
note "the volunteer that answers stayed up for 8 s beside three frozen ones"
kill -9 "$awake_pid" "${sleepers[@]}" 2>/dev/null || true
stop_daemon
