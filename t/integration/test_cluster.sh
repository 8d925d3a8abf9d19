# A cluster in network namespaces (netns.sh), 1 ms of delay each way on
# every namespace's link: a client "cli", a dispatcher "disp" that runs no
# jobs itself (--slots 0), volunteers v1 and v2 (--peer on the dispatcher)
# and v3 (--join), 2 slots each. Every shim in cli sends its compiles over
# HTTP to the dispatcher, with GODISTCC_FALLBACK=0 (nothing runs on the
# client). Every build is compared byte for byte with a plain one.
#   a. go build -a -p 16 of std, cmd/go and cmd/compile: every volunteer
#      runs at least 15% of the jobs, none more at once than its slots.
#   b. A volunteer is SIGKILLed in the middle of a build: the build still
#      succeeds, identical; the dispatcher shows the volunteer down within
#      a few seconds; restarted, it is up again (and gets jobs in c).
#   c. A volunteer v4 joins in the middle of a build and runs jobs within
#      5 s of its start.
#   d. Two toolchains at once: the newest Go and an older one (GO2, default
#      Debian 12's go1.19) each build std through the cluster concurrently.
# Needs root (network namespaces). Knobs: CLUSTER_P (go build -p, default
# 16), NETNS_DELAY_MS, NETNS_RATE, NETNS_MODE (netns.sh), GO2.
need_bins
source "$ROOT/t/integration/netns.sh"
netns_need

GO1=$(command -v "$GO")
GO2=${GO2:-/usr/lib/go-1.19/bin/go}
[[ -x $GO2 ]] || fail "prerequisite: no second Go toolchain at $GO2 (Debian 12: apt-get install golang-1.19-go, which contrib/deps.sh does; or set GO2)"
ver1=$("$GO1" env GOVERSION)
ver2=$("$GO2" env GOVERSION)
[[ $ver1 != "$ver2" ]] || fail "prerequisite: GO2 ($GO2) is $ver2, the same version as $GO1"
P=${CLUSTER_P:-16}
PKGS_A=(std cmd/go cmd/compile)
VOLS=(v1 v2 v3)
t_test=$SECONDS

# --- helpers -------------------------------------------------------------------

# host_field KEY FIELD: FIELD of host KEY in the dispatcher's /v1/cluster.
host_field() {
	local url
	url=$(nsd_url "$1")
	nsd_cluster disp | jq -r --arg u "$url" --arg k "$1" --arg f "$2" \
		'[.hosts[] | select(.url == $u or .name == $k)][0][$f]'
}

# wait_state KEY STATE SECONDS: wait until the dispatcher shows KEY in
# STATE; print the milliseconds that took.
wait_state() {
	local key=$1 want=$2 limit=$3 st t0
	t0=$(date +%s%N)
	while :; do
		st=$(host_field "$key" state)
		[[ $st == "$want" ]] && break
		(($(date +%s%N) - t0 < limit * 1000000000)) ||
			fail "$key is '$st', not '$want', after $limit s; /v1/cluster: $(nsd_cluster disp | jq -c .)"
		sleep 0.1
	done
	echo $((($(date +%s%N) - t0) / 1000000))
}

# snap ARRAY KEYS...: ARRAY[KEY]=jobs_completed of each daemon KEY.
snap() {
	local -n _snap=$1
	shift
	local k
	for k in "$@"; do
		_snap[$k]=$(nsd_status "$k" jobs_completed)
	done
}

# split TITLE BEFORE AFTER KEYS...: print the jobs each daemon ran between
# two snapshots, with its share; sets SPLIT_TOTAL and SPLIT_MIN_PCT.
split() {
	local title=$1 k n line=
	local -n _b=$2 _a=$3
	shift 3
	SPLIT_TOTAL=0
	for k in "$@"; do
		SPLIT_TOTAL=$((SPLIT_TOTAL + _a[$k] - _b[$k]))
	done
	SPLIT_MIN_PCT=100
	for k in "$@"; do
		n=$((_a[$k] - _b[$k]))
		local pct=$((SPLIT_TOTAL > 0 ? 100 * n / SPLIT_TOTAL : 0))
		((pct >= SPLIT_MIN_PCT)) || SPLIT_MIN_PCT=$pct
		line+=" $k $n ($pct%)"
	done
	note "$title: $SPLIT_TOTAL jobs:$line"
}

# check_peaks KEYS...: fail if a volunteer ever ran more jobs than its slots.
check_peaks() {
	local k peak slots line=
	for k in "$@"; do
		peak=$(nsd_status "$k" peak_running)
		slots=$(nsd_status "$k" slots)
		line+=" $k $peak/$slots"
		((peak <= slots)) || fail "$k ran $peak jobs at once with --slots $slots"
	done
	note "peak_running/slots:$line"
}

# dist_bg NAME GO ARGS...: must_go dist NAME ARGS... with go command GO (a
# wrapper that runs it in cli), in the background; sets BG_PID.
dist_bg() {
	local name=$1 gocmd=$2
	shift 2
	(
		trap - EXIT
		GO=$gocmd must_go dist "$name" "$@"
	) >"$T_DIR/$name.out" 2>&1 &
	BG_PID=$!
}

# dist_wait NAME PID: wait for a dist_bg build; fail if it failed.
dist_wait() {
	local rc=0
	wait "$2" || rc=$?
	sed 's/^/    | /' "$T_DIR/$1.out"
	((rc == 0)) || fail "build $1 failed (exit $rc): $(grep -m1 FAIL "$T_DIR/$1.out" || true)"
}

# no_warnings NAME: the shim printed no warning (FALLBACK=0, healthy cluster).
no_warnings() {
	! grep -m3 'godistcc: warning:' "$T_DIR/$1/stderr" ||
		fail "godistcc printed warnings in build $1"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --- plain references (no cluster running yet) ----------------------------------
note "go: $GO1 ($ver1) and $GO2 ($ver2); go build -p $P through the cluster"
ref_std=$(plain_reference std-a build -x -a std)
ref_a=$(plain_reference std-cmd-a build -x -a -o "$T_REF/std-cmd-a.bin/" "${PKGS_A[@]}")
ref_old=$(GO=$GO2 plain_reference "std-a-$ver2" build -x -a std)

# --- the network and the cluster ----------------------------------------------------
for n in cli disp "${VOLS[@]}"; do
	netns_create "$n"
done
netns_rtt cli disp
rtt_ok=$(awk -v r="$NETNS_RTT_MS" -v d="$(netns_delay_ms)" 'BEGIN { print (r >= 1.8 * d) ? 1 : 0 }')
((rtt_ok)) || fail "round trip cli -> disp is $NETNS_RTT_MS ms: the $(netns_delay_ms) ms delay each way is not there"
netns_rtt v1 v3

nsd_start v1 v1 --slots 2
nsd_start v2 v2 --slots 2
nsd_start disp disp --slots 0 --peer "$(nsd_url v1)" --peer "$(nsd_url v2)"
nsd_start v3 v3 --slots 2 --join "$(nsd_url disp)"
for k in "${VOLS[@]}"; do
	note "$k is up after $(wait_state "$k" up 5) ms"
done
nsd_cluster disp | jq -c '{name, queued, hosts: [.hosts[] | {name, url, source, state, slots}]}'

export GODISTCC_DISPATCHER
GODISTCC_DISPATCHER=$(nsd_url disp)
GO_CLI=$(netns_wrapper cli "$GO1")
GO_CLI2=$(netns_wrapper cli "$GO2")
note "shims in cli send every compile to $GODISTCC_DISPATCHER (GODISTCC_FALLBACK=$GODISTCC_FALLBACK)"

# --- a. std and part of cmd; the share of every volunteer --------------------------------
note "=== a. go build -a -p $P ${PKGS_A[*]}"
declare -A b4=() af=()
snap b4 "${VOLS[@]}"
fwd0=$(nsd_status disp jobs_forwarded)
t0=$SECONDS
GO=$GO_CLI must_go dist a build -x -a -p "$P" -o "$T_DIR/a.bin/" "${PKGS_A[@]}"
secs_a=$((SECONDS - t0))
snap af "${VOLS[@]}"
fwd1=$(nsd_status disp jobs_forwarded)
ncompile=$(count_tool a compile)
split "a: jobs per volunteer" b4 af "${VOLS[@]}"
note "a: $ncompile compiles in $secs_a s; the dispatcher forwarded $((fwd1 - fwd0))"
((SPLIT_TOTAL >= ncompile)) || fail "the volunteers ran $SPLIT_TOTAL jobs for $ncompile compiles"
((fwd1 - fwd0 >= ncompile)) || fail "the dispatcher forwarded $((fwd1 - fwd0)) jobs for $ncompile compiles"
((SPLIT_MIN_PCT >= 15)) || fail "a volunteer ran only $SPLIT_MIN_PCT% of the jobs (want >= 15% each)"
check_peaks "${VOLS[@]}"
no_warnings a
assert_same_cache "$ref_a" a
assert_same_dir "$T_REF/std-cmd-a.bin" "$T_DIR/a.bin"
drop_cache a

# --- b. a volunteer dies in the middle of a build ------------------------------------------
victim=v2
note "=== b. go build -a -p $P std; SIGKILL $victim once it has run 10 jobs"
snap b4 "${VOLS[@]}"
retried0=$(nsd_status disp jobs_retried)
dist_bg b "$GO_CLI" build -x -a -p "$P" std
bpid=$BG_PID
while :; do
	n=$(($(nsd_status "$victim" jobs_completed) - b4[$victim]))
	((n < 10)) || break
	kill -0 "$bpid" 2>/dev/null || fail "build b ended before $victim ran 10 jobs (it ran $n)"
	sleep 0.1
done
running=$(nsd_status "$victim" running)
nsd_kill "$victim"
t_kill=$(now_ms)
note "b: $victim killed after $n jobs, with $running running"
down_ms=$(wait_state "$victim" down 6)
note "b: the dispatcher shows $victim down $down_ms ms after the kill"
kill -0 "$bpid" 2>/dev/null || note "b: (the build had already finished)"
nsd_restart "$victim"
up_ms=$(wait_state "$victim" up 5)
note "b: $victim restarted; up again after $up_ms ms"
dist_wait b "$bpid"
snap af v1 v3
retried1=$(nsd_status disp jobs_retried)
note "b: v1 ran $((af[v1] - b4[v1])), v3 $((af[v3] - b4[v3])), $victim $n before the kill (and $(nsd_status "$victim" jobs_completed) after its restart); the dispatcher retried $((retried1 - retried0)) jobs"
assert_same_cache "$ref_std" b
drop_cache b

# --- c. a volunteer joins in the middle of a build --------------------------------------------
note "=== c. go build -a -p $P std; v4 joins while it runs"
netns_create v4
VOLS+=(v4)
declare -A b4c=() afc=()
snap b4c v1 v2 v3
fwd0=$(nsd_status disp jobs_forwarded)
dist_bg c "$GO_CLI" build -x -a -p "$P" std
cpid=$BG_PID
until (($(nsd_status disp jobs_forwarded) - fwd0 >= 30)); do
	kill -0 "$cpid" 2>/dev/null || fail "build c ended before the dispatcher forwarded 30 jobs"
	sleep 0.1
done
t_start=$(now_ms)
nsd_start v4 v4 --slots 2 --join "$(nsd_url disp)"
t_answers=$(now_ms)
while (($(nsd_status v4 jobs_completed) == 0)); do
	(($(now_ms) - t_start < 30000)) || fail "v4 ran no job within 30 s of its start: $(nsd_cluster disp | jq -c .)"
	kill -0 "$cpid" 2>/dev/null || fail "build c ended and v4 ran no job"
	sleep 0.05
done
t_job=$(now_ms)
note "c: v4 started at +0 ms, answered its status at +$((t_answers - t_start)) ms, had run its first job at +$((t_job - t_start)) ms"
((t_job - t_start <= 5000)) || fail "v4's first job completed $((t_job - t_start)) ms after it started (want <= 5 s)"
dist_wait c "$cpid"
snap afc v1 v2 v3
afc[v4]=$(nsd_status v4 jobs_completed)
b4c[v4]=0
split "c: jobs per volunteer" b4c afc "${VOLS[@]}"
((afc[$victim] > b4c[$victim])) || fail "b: the restarted $victim received no jobs in build c"
note "b: the restarted $victim ran $((afc[$victim] - b4c[$victim])) jobs of build c"
assert_same_cache "$ref_std" c
drop_cache c

# --- d. two toolchains through one cluster at once --------------------------------------------
# Both builds share the cluster, so a job could only be wrong by running
# on the other toolchain. It cannot go unnoticed: go1.19 and go1.26
# compilers write different object headers ("go object linux amd64
# go1.19.8 ..."), export data formats and build IDs, so an archive built by
# the wrong compiler differs from the plain build's, and the set of
# GOCACHE entries (named by their content's SHA-256) would differ.
note "=== d. $ver1 and $ver2 build std (-a) through the cluster at the same time"
declare -A b4d=() afd=()
snap b4d "${VOLS[@]}"
t0=$SECONDS
dist_bg d-new "$GO_CLI" build -x -a -p "$P" std
pid_new=$BG_PID
dist_bg d-old "$GO_CLI2" build -x -a -p "$P" std
pid_old=$BG_PID
dist_wait d-new "$pid_new"
dist_wait d-old "$pid_old"
note "d: both builds done in $((SECONDS - t0)) s"
snap afd "${VOLS[@]}"
split "d: jobs per volunteer" b4d afd "${VOLS[@]}"
n_new=$(count_tool d-new compile)
n_old=$(count_tool d-old compile)
note "d: $n_new compiles of $ver1, $n_old of $ver2"
((SPLIT_TOTAL >= n_new + n_old)) || fail "the volunteers ran $SPLIT_TOTAL jobs for $((n_new + n_old)) compiles"
assert_same_cache "$ref_std" d-new
assert_same_cache "$ref_old" d-old
no_warnings d-new
no_warnings d-old
drop_cache d-new
drop_cache d-old
h_new=$(sha256sum <"$("$GO1" env GOTOOLDIR)/compile" | cut -d' ' -f1)
h_old=$(sha256sum <"$("$GO2" env GOTOOLDIR)/compile" | cut -d' ' -f1)
for k in "${VOLS[@]}"; do
	tcs=$(nsd_status "$k" toolchains | jq -r '.[]' | tr '\n' ' ')
	note "d: $k holds toolchains: $tcs"
	[[ $tcs == *"$h_new"* ]] || fail "$k does not list the $ver1 compile ($h_new)"
	[[ $tcs == *"$h_old"* ]] || fail "$k does not list the $ver2 compile ($h_old)"
done
# Do the logs name the toolchain of each job? dispatchd's job lines
# (dispatchd/job.c) name the tool, the package, the host and the exit
# status; the toolchain appears only where one is stored.
for k in disp "${VOLS[@]}"; do
	log=$NETNS_WORK/$k.log
	note "d: $k's log: $(grep -c "$h_new" "$log" || true) lines name the $ver1 compile," \
		"$(grep -c "$h_old" "$log" || true) the $ver2 compile; $(grep -cE 'job .*(compile|asm) ' "$log" || true) job lines"
	grep -E "job .*(compile|asm) " "$log" | grep -m1 -E "$h_new|$h_old" >/dev/null ||
		note "d: ($k's job lines do not name the toolchain: byte-identity above is the check)"
done
check_peaks "${VOLS[@]}"

# --- the end ------------------------------------------------------------------------------------
nsd_cluster disp | jq -c '{queued, hosts: [.hosts[] | {name, source, state, slots, peak, done, failed}]}'
for k in "${VOLS[@]}" disp; do
	nsd_stop "$k"
done
note "test_cluster took $((SECONDS - t_test)) s (round trip cli -> disp $NETNS_RTT_MS ms)"
