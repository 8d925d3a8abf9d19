# The volunteers' blob stores (--cache-size): a dispatcher on loopback
# forwards the test module's jobs (go build -a: std included) to volunteers.
#  a. Dedup: a second build with a fresh GOCACHE against the same volunteer
#     uploads at most 10% of the bytes of the first (the blobs are sent once),
#     and both are byte-identical to a plain build.
#  b. Eviction: a volunteer with --cache-size 1 (MiB) keeps its store at the
#     cap (status and the files on disk) while the build stays identical:
#     blobs it evicted are asked for again (409) and re-sent.
#  c. Corruption: every blob file in the first volunteer's store is
#     overwritten behind its back; the next build is still identical, the
#     store counts the corrupt blobs and never served one.
#  d. No store: the shim over HTTP to a daemon with --cache-size 0 (its
#     first request leaves out large export data, then sends everything).
#  e. A volunteer without a store: its status says so, and the dispatcher
#     sends every job with all its blobs at once instead of being asked.
# GODISTCC_FALLBACK=0 throughout, so every job really ran on a volunteer.
need_bins

# start_volunteer NAME [dispatchd options]: sets VOL_PID and VOL_URL.
start_volunteer() {
	local name=$1 i
	shift
	rm -f "$T_DIR/$name.port"
	"$DISPATCHD" --listen 127.0.0.1:0 --port-file "$T_DIR/$name.port" \
		--socket none --state-dir "$T_DIR/$name.state" --slots 2 --name "$name" \
		"$@" 2>>"$T_DIR/$name.log" &
	VOL_PIDS+=($!)
	for ((i = 0; i < 200; i++)); do
		[[ -s $T_DIR/$name.port ]] && break
		sleep 0.05
	done
	[[ -s $T_DIR/$name.port ]] || fail "volunteer $name did not start: $(tail -n 3 "$T_DIR/$name.log")"
	VOL_URL=http://127.0.0.1:$(tr -d '\n' <"$T_DIR/$name.port")
	note "volunteer $name at $VOL_URL"
}

VOL_PIDS=()
_blob_on_exit() {
	local rc=$?
	# Exiting anyway: errexit off, or the "(exit $rc)" that hands the
	# status on to _on_exit would end this handler before _on_exit ran
	# (and the dispatcher would outlive the test).
	set +e
	trap - ERR
	kill -TERM ${VOL_PIDS[@]+"${VOL_PIDS[@]}"} 2>/dev/null || true
	(exit "$rc")
	_on_exit
}
trap _blob_on_exit EXIT

# vol URL FIELD: a field of a volunteer's /v1/status (jq path, e.g.
# .blob_store.bytes).
vol() {
	curl -fsS --max-time 5 "$1/v1/status" | jq -er "$2" ||
		fail "$1/v1/status has no $2"
}

# through_volunteer NAME BUILD [volunteer options]: a volunteer NAME and a
# dispatcher (no slots of its own) that sends it every job; then the build
# BUILD of the module, which must be identical to the plain one. Sets
# VOL_URL; the dispatcher stays up.
through_volunteer() {
	local name=$1 build=$2
	shift 2
	start_volunteer "$name" "$@"
	DAEMON_SLOTS=0 start_daemon --peer "$VOL_URL"
	must_go dist "$build" build -a ./...
	assert_same_cache plain "$build"
}

# disk_bytes DIR: the bytes of the blob files under DIR.
disk_bytes() {
	find "$1" -type f -name '????????????????????????????????????????????????????????????????' \
		-printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'
}

mod=$(copy_testmod)
cd "$mod"
must_go plain plain build -a ./...

# --- a. dedup ----------------------------------------------------------------
start_volunteer v1
v1=$VOL_URL
DAEMON_SLOTS=0 start_daemon --peer "$v1"
b0=$(vol "$v1" .bytes_received)
j0=$(vol "$v1" .jobs_completed)
must_go dist first build -a ./...
assert_same_cache plain first
b1=$(vol "$v1" .bytes_received)
j1=$(vol "$v1" .jobs_completed)
must_go dist second build -a ./...
assert_same_cache plain second
b2=$(vol "$v1" .bytes_received)
j2=$(vol "$v1" .jobs_completed)
first=$((b1 - b0)) second=$((b2 - b1))
note "v1 ran $((j1 - j0)) then $((j2 - j1)) jobs; received $first then $second bytes of jobs"
((j1 - j0 >= 60 && j2 - j1 >= 60)) || fail "the volunteer ran $((j1 - j0)) and $((j2 - j1)) jobs; want every compile of the build (>= 60)"
((second * 10 <= first)) || fail "the second build uploaded $second bytes, more than 10% of the first's $first"
note "second/first = $(awk -v a="$second" -v b="$first" 'BEGIN { printf "%.3f", a / b }')"
stored=$(vol "$v1" .blob_store.stored)
held=$(vol "$v1" .blob_store.blobs)
hits=$(vol "$v1" .blob_store.hits)
((held > 100 && hits > held)) || fail "v1's store holds $held blobs after $hits hits; want many of each: $(vol "$v1" .blob_store)"
[[ $(disk_bytes "$T_DIR/v1.state/blobs") == "$(vol "$v1" .blob_store.bytes)" ]] ||
	fail "v1's files hold $(disk_bytes "$T_DIR/v1.state/blobs") bytes, its status says $(vol "$v1" .blob_store.bytes)"
note "v1 store: $(vol "$v1" .blob_store | jq -c .)"

# --- c. corruption (same volunteer and dispatcher) ---------------------------
n=0
while IFS= read -r f; do
	printf 'not what the name says %s\n' "$f" >"$f"
	n=$((n + 1))
done < <(find "$T_DIR/v1.state/blobs" -type f -name '????????????????????????????????????????????????????????????????')
((n == held)) || fail "found $n blob files, the store holds $held"
note "overwrote all $n blob files of v1"
must_go dist corrupt build -a ./...
assert_same_cache plain corrupt
corrupt=$(vol "$v1" .blob_store.corrupt)
((corrupt > 100)) || fail "v1 counted $corrupt corrupt blobs after all $n were overwritten"
grep -q "does not match" "$T_DIR/v1.log" || fail "v1 logged no corrupt blob: $(tail -n 5 "$T_DIR/v1.log")"
note "v1 found $corrupt corrupt blobs and the build is identical"
stop_daemon

# --- b. eviction -------------------------------------------------------------
through_volunteer v2 evict --cache-size 1
v2=$VOL_URL
cap=$(vol "$v2" .blob_store.cap_bytes)
bytes=$(vol "$v2" .blob_store.bytes)
evicted=$(vol "$v2" .blob_store.evicted)
on_disk=$(disk_bytes "$T_DIR/v2.state/blobs")
note "v2 store: $(vol "$v2" .blob_store | jq -c .), $on_disk bytes on disk"
((cap == 1048576)) || fail "v2's cap is $cap, want 1 MiB"
((bytes <= cap && on_disk <= cap)) || fail "v2 holds $bytes bytes ($on_disk on disk), over its cap $cap"
((evicted > 0)) || fail "v2 evicted nothing at a 1 MiB cap"
reqs=$(vol "$v2" .job_requests)
ran=$(vol "$v2" .jobs_completed)
note "v2 took $reqs job requests for $ran jobs"
((reqs > ran + 1)) || fail "v2 took $reqs requests for $ran jobs: no blob was asked for again after its eviction"
stop_daemon

# --- d. a daemon without a store, the shim over HTTP -------------------------
DAEMON_TRANSPORT=http start_daemon --cache-size 0
[[ $(daemon_get /v1/status | jq -c .blob_store) == null ]] || fail "--cache-size 0 still reports a store"
must_go dist nostore build -a ./...
assert_same_cache plain nostore
ran=$(status_field jobs_completed)
reqs=$(status_field job_requests)
note "no store: $ran jobs ran on the daemon from $reqs requests"
((ran >= 60)) || fail "only $ran jobs ran on the daemon without a store"
stop_daemon

# --- e. a volunteer without a store -----------------------------------------
through_volunteer v3 storeless --cache-size 0
v3=$VOL_URL
reqs=$(vol "$v3" .job_requests)
ran=$(vol "$v3" .jobs_completed)
note "v3 (no store) took $reqs job requests for $ran jobs"
((ran >= 60)) || fail "only $ran jobs ran on v3"
# A few jobs race for the toolchain's upload (each gets a 409 for it); no
# job should be asked for its blobs.
((reqs <= ran + 10)) || fail "v3 took $reqs requests for $ran jobs: blobs were left out for a volunteer without a store"
stop_daemon
