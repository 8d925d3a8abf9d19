# A test network of Linux network namespaces on this machine, for tests
# (source it after lib.sh) and benchmarks (source it after defining note
# and fail). Needs root, iproute2 (ip, tc), a C compiler (for
# t/tools/netlag.c, unless make built t/tools/bin/netlag) and curl.
#
#   netns_need                 check the prerequisites (fail if missing)
#   netns_create NAME          a namespace joined to the test's bridge, with
#                              loopback up and an address on a private /24
#   netns_exec NAME CMD...     run CMD in it (environment kept)
#   netns_bg NAME CMD...       start CMD in it in the background; sets
#                              NETNS_PID to CMD's PID
#   netns_addr NAME            its IPv4 address
#   netns_name NAME            its name for "ip netns" (gdn<PID>-NAME)
#   netns_wrapper NAME PROG    print the path of a script that runs PROG
#                              (with its arguments) in NAME, for variables
#                              such as GO that hold one command
#   netns_curl ARGS...         curl from the hub (the bridge's namespace,
#                              address .254), which reaches every namespace
#   netns_rtt A B              print the round-trip time from A to B
#   netns_delay_ms             the delay added each way, in milliseconds
#   netns_cleanup              kill every process in the test's namespaces
#                              and delete them (also run on exit: the
#                              first netns_create sets an EXIT trap that
#                              runs it, then the EXIT trap set before)
#
# dispatchd in a namespace ($DISPATCHD; lib.sh sets it):
#   nsd_start KEY NS [ARGS...] start one as host KEY in namespace NS
#   nsd_restart KEY            start KEY again with the same arguments
#   nsd_url KEY                its URL, http://ADDR:PORT
#   nsd_status KEY [FIELD]     its /v1/status, or one field of it
#   nsd_cluster KEY            its /v1/cluster
#   nsd_kill KEY               SIGKILL it
#   nsd_stop KEY               SIGTERM it; fail unless it exits 0 within
#                              10 s with no sanitizer report in its log
#
# Layout: a "hub" namespace holds a bridge (br0, no link to the host's
# network: nothing here touches the host's interfaces, addresses or
# routes); each namespace is one port of it, address 10.213.X.N/24 with X
# taken from the test's PID. Namespace names carry the PID of the test
# (gdn<PID>-NAME), so parallel runs do not clash, and namespaces a killed
# run left behind (its PID gone) are deleted by the next one.
#
# Each namespace's traffic to the bridge is delayed by NETNS_DELAY_MS
# milliseconds (default 1; a round trip between two namespaces takes twice
# that) and, with NETNS_RATE (a tc rate such as 1gbit; default none),
# limited in rate. How (NETNS_MODE):
#   netem  a veth pair per namespace, "tc qdisc add dev eth0 root netem
#          delay 1ms [rate R]" on the namespace's end;
#   relay  for kernels built without netem (CONFIG_NET_SCH_NETEM): a TAP
#          device pair per namespace, joined by "netlag relay", a process in
#          the hub that forwards frames from the namespace to the bridge
#          after the delay; the rate by "tc qdisc ... tbf" on the
#          namespace's end;
#   auto   (default) netem when the kernel has it, else relay;
#   veth   veth pairs and no delay at all (a baseline; the rate by tbf).

NETNS_DELAY_MS=${NETNS_DELAY_MS:-1}
NETNS_RATE=${NETNS_RATE:-}
NETNS_MODE=${NETNS_MODE:-auto}
NETNS_WORK=${NETNS_WORK:-$T_DIR/netns}
_NETNS_TAG=gdn$$
_NETNS_HUB=$_NETNS_TAG-hub
_NETNS_NET=10.213.$((16 + $$ % 200))
_NETNS_N=0
_NETNS_NETLAG=
_NETNS_UP=
_NETNS_PREV_EXIT=
declare -gA _NETNS_ADDR=()
declare -ga _NETNS_ALL=() _NETNS_RELAYS=()

# netns_need: fail unless this process can build the network.
netns_need() {
	((EUID == 0)) || fail "prerequisite: network namespaces need root (running as uid $EUID)"
	command -v ip >/dev/null || fail "prerequisite: no ip command (install iproute2)"
	command -v tc >/dev/null || fail "prerequisite: no tc command (install iproute2)"
	command -v curl >/dev/null || fail "prerequisite: curl is not installed"
	ip netns list >/dev/null 2>&1 || fail "prerequisite: 'ip netns list' fails: $(ip netns list 2>&1 | head -n 1)"
	[[ $NETNS_DELAY_MS =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "netns: NETNS_DELAY_MS='$NETNS_DELAY_MS' is not a number"
	case $NETNS_MODE in
	auto | netem | relay | veth) ;;
	*) fail "netns: NETNS_MODE must be auto, netem, relay or veth, not '$NETNS_MODE'" ;;
	esac
	mkdir -p "$NETNS_WORK"
	_netns_netlag
}

# netns_name NAME: the namespace's name for "ip netns".
netns_name() {
	printf '%s-%s\n' "$_NETNS_TAG" "$1"
}

# netns_addr NAME: the namespace's IPv4 address.
netns_addr() {
	[[ -n ${_NETNS_ADDR[$1]:-} ]] || fail "netns_addr: no namespace '$1'"
	printf '%s\n' "${_NETNS_ADDR[$1]}"
}

# netns_exec NAME CMD...: run CMD in namespace NAME.
netns_exec() {
	local name=$1
	shift
	[[ -n ${_NETNS_ADDR[$name]:-} ]] || fail "netns_exec: no namespace '$name'"
	ip netns exec "$(netns_name "$name")" "$@"
}

# netns_bg NAME CMD...: start CMD in namespace NAME in the background (with
# the caller's redirections) and set NETNS_PID to its PID (ip execs CMD).
# Not "netns_exec ... &": that PID would be a subshell's.
netns_bg() {
	local name=$1
	shift
	[[ -n ${_NETNS_ADDR[$name]:-} ]] || fail "netns_bg: no namespace '$name'"
	ip netns exec "$(netns_name "$name")" "$@" &
	NETNS_PID=$!
}

# netns_curl ARGS...: curl in the hub's namespace (reaches every namespace
# without going through any of them).
netns_curl() {
	[[ -n $_NETNS_UP ]] || fail "netns_curl: no network yet"
	ip netns exec "$_NETNS_HUB" curl "$@"
}

# netns_wrapper NAME PROG: print the path of an executable script that runs
# PROG in namespace NAME with the arguments it is given.
netns_wrapper() {
	local name=$1 prog=$2 w
	[[ -n ${_NETNS_ADDR[$name]:-} ]] || fail "netns_wrapper: no namespace '$name'"
	w="$NETNS_WORK/in-$name-$(printf %s "$prog" | cksum | cut -d' ' -f1)-${prog##*/}"
	printf '#!/bin/bash\n# %s in network namespace %s\nexec ip netns exec %q %q "$@"\n' \
		"$prog" "$name" "$(netns_name "$name")" "$prog" >"$w"
	chmod +x "$w"
	printf '%s\n' "$w"
}

# netns_create NAME: a new namespace on the test's bridge.
netns_create() {
	local name=$1
	[[ $name =~ ^[a-z][a-z0-9]{0,9}$ ]] || fail "netns_create: bad name '$name' (a-z0-9, at most 10)"
	[[ -z ${_NETNS_ADDR[$name]:-} ]] || fail "netns_create: '$name' exists"
	[[ -n $_NETNS_UP ]] || _netns_setup
	local ns i addr
	ns=$(netns_name "$name")
	_NETNS_N=$((_NETNS_N + 1))
	i=$_NETNS_N
	((i < 250)) || fail "netns_create: too many namespaces"
	addr=$_NETNS_NET.$i
	ip netns add "$ns" || fail "netns_create: ip netns add $ns failed"
	_NETNS_ALL+=("$ns")
	ip -n "$ns" link set lo up
	_netns_quiet_ipv6 "$ns"
	if [[ $NETNS_MODE == netem || $NETNS_MODE == veth ]]; then
		# eth0 is born in the namespace, p<i> in the hub: no device ever
		# exists in the host's namespace.
		ip -n "$_NETNS_HUB" link add "p$i" type veth peer name eth0 netns "$ns" ||
			fail "netns_create: cannot create a veth pair for $name"
		local -a qd=()
		if [[ $NETNS_MODE == netem ]]; then
			qd=(netem delay "${NETNS_DELAY_MS}ms")
			[[ -z $NETNS_RATE ]] || qd+=(rate "$NETNS_RATE")
		elif [[ -n $NETNS_RATE ]]; then
			qd=(tbf rate "$NETNS_RATE" burst 256kb latency 50ms)
		fi
		if ((${#qd[@]} > 0)); then
			ip netns exec "$ns" tc qdisc add dev eth0 root "${qd[@]}" ||
				fail "netns_create: tc qdisc add dev eth0 root ${qd[*]} failed in $ns"
		fi
	else
		local ready="$NETNS_WORK/relay-$name.pid" j delay_us
		delay_us=$(awk -v d="$NETNS_DELAY_MS" 'BEGIN { printf "%d", d * 1000 }')
		rm -f "$ready"
		ip netns exec "$_NETNS_HUB" "$_NETNS_NETLAG" relay "n$i" "p$i" "$delay_us" 0 "$ready" \
			2>>"$NETNS_WORK/relay-$name.log" &
		_NETNS_RELAYS+=($!)
		for ((j = 0; j < 100; j++)); do
			[[ -s $ready ]] && break
			kill -0 $! 2>/dev/null || fail "netns_create: netlag relay for $name exited: $(cat "$NETNS_WORK/relay-$name.log")"
			sleep 0.05
		done
		[[ -s $ready ]] || fail "netns_create: netlag relay for $name did not start"
		ip -n "$_NETNS_HUB" link set "n$i" netns "$ns" name eth0 ||
			fail "netns_create: cannot move the TAP device into $ns"
		if [[ -n $NETNS_RATE ]]; then
			ip netns exec "$ns" tc qdisc add dev eth0 root tbf rate "$NETNS_RATE" \
				burst 256kb latency 50ms ||
				fail "netns_create: tc qdisc add dev eth0 root tbf rate $NETNS_RATE failed in $ns"
		fi
	fi
	ip -n "$_NETNS_HUB" link set "p$i" master br0 up
	ip -n "$ns" addr add "$addr/24" dev eth0
	ip -n "$ns" link set eth0 up
	_NETNS_ADDR[$name]=$addr
	note "netns: $name = $ns, $addr/24 ($NETNS_MODE, $(netns_delay_ms) ms${NETNS_RATE:+, rate $NETNS_RATE})"
}

# netns_rtt A B: measure and print the round-trip time from namespace A to
# namespace B (ping -c 3 when installed, else netlag's UDP ping) and set
# NETNS_RTT_MS to the average.
netns_rtt() {
	local a=$1 b=$2 out
	if command -v ping >/dev/null; then
		out=$(netns_exec "$a" ping -c 3 -i 0.2 "$(netns_addr "$b")" 2>&1) ||
			fail "netns_rtt: ping from $a to $b failed: $out"
	else
		netns_bg "$b" "$_NETNS_NETLAG" echo 7
		local echo_pid=$NETNS_PID rc=0
		sleep 0.1
		# The first probe also waits for ARP: four, and report the last three.
		out=$(netns_exec "$a" "$_NETNS_NETLAG" ping "$(netns_addr "$b")" 7 4 2>&1) || rc=$?
		kill "$echo_pid" 2>/dev/null || true
		wait "$echo_pid" 2>/dev/null || true
		((rc == 0)) || fail "netns_rtt: netlag ping from $a to $b failed: $out"
		out=$(sed -n '2,4p' <<<"$out")
		out+=$'\n'$(awk '/time=/ { sub(/.*time=/, ""); v[++n] = $1 + 0 }
			END { min = v[1]; max = v[1]; for (i = 1; i <= n; i++) { s += v[i]; if (v[i] < min) min = v[i]; if (v[i] > max) max = v[i] }
			printf "rtt min/avg/max = %.3f/%.3f/%.3f ms\n", min, s / n, max }' <<<"$out")
	fi
	printf '%s\n' "$out" | sed "s/^/    [$a -> $b] /"
	NETNS_RTT_MS=$(sed -n 's|.*= [0-9.]*/\([0-9.]*\)/.*|\1|p' <<<"$out" | tail -n 1)
	[[ -n $NETNS_RTT_MS ]] || fail "netns_rtt: no round-trip time in: $out"
	note "netns: round trip $a -> $b: $NETNS_RTT_MS ms (average; 2 x $(netns_delay_ms) ms of added delay)"
}

# netns_cleanup: stop every process in the test's namespaces (SIGTERM,
# then SIGKILL after 6 s: a dispatchd gets its 5 s shutdown grace), delete
# the namespaces. Idempotent.
netns_cleanup() {
	local ns
	((${#_NETNS_ALL[@]} > 0)) || return 0
	_netns_kill_all "${_NETNS_ALL[@]}"
	for ns in "${_NETNS_ALL[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	# Reap the relays: a TAP device goes when its process has exited.
	local pid
	for pid in ${_NETNS_RELAYS[@]+"${_NETNS_RELAYS[@]}"}; do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	_NETNS_RELAYS=()
	[[ -z ${_NETNS_SHM:-} ]] || rm -rf "$_NETNS_SHM"
	_NETNS_SHM=
	_NETNS_ALL=()
	_NETNS_ADDR=()
	_NETNS_UP=
}

# --- dispatchd in a namespace --------------------------------------------------

declare -gA _NSD_PID=() _NSD_URL=() _NSD_NS=() _NSD_ARGS=() _NSD_PREFIX=()

# nsd_start KEY NS [ARGS...]: start $DISPATCHD in namespace NS as host KEY
# (--name KEY), listening on NS's address, port NSD_PORT (default 3633:
# every namespace has its own ports), with state directory
# $NETNS_WORK/KEY.state (kept when KEY is restarted), sandboxes below
# $NETNS_WORK/shm (on /dev/shm when it is a tmpfs; deleted at cleanup, so a
# SIGKILLed daemon's sandboxes go too), debug log appended to
# $NETNS_WORK/KEY.log, and ARGS (--socket none unless ARGS name a socket).
# NSD_PREFIX (words, such as "taskset -c 1") goes before the command. Waits
# until /v1/status answers.
nsd_start() {
	local key=$1 ns=$2
	shift 2
	[[ -z ${_NSD_PID[$key]:-} ]] || fail "nsd_start: $key is running (pid ${_NSD_PID[$key]})"
	local addr port=${NSD_PORT:-3633} a
	addr=$(netns_addr "$ns")
	_nsd_shm
	_nsd_token
	local -a args=(--listen "$addr:$port" --name "$key" --state-dir "$NETNS_WORK/$key.state"
		--sandbox-dir "$_NETNS_SHM" --log-level debug --token-file "$NSD_TOKEN_FILE")
	local sock=
	for a in "$@"; do [[ $a != --socket* ]] || sock=1; done
	[[ -n $sock ]] || args+=(--socket none)
	args+=("$@")
	mkdir -p "$NETNS_WORK/$key.state"
	_NSD_NS[$key]=$ns
	_NSD_URL[$key]=http://$addr:$port
	_NSD_ARGS[$key]=$(printf '%q ' "${args[@]}")
	_NSD_PREFIX[$key]=${NSD_PREFIX:-}
	_nsd_launch "$key"
}

# nsd_restart KEY: start KEY again (after nsd_kill or nsd_stop), same
# namespace, port, state directory and arguments.
nsd_restart() {
	[[ -n ${_NSD_NS[$1]:-} ]] || fail "nsd_restart: no daemon '$1'"
	[[ -z ${_NSD_PID[$1]:-} ]] || fail "nsd_restart: $1 is running"
	_nsd_launch "$1"
}

nsd_url() {
	[[ -n ${_NSD_URL[$1]:-} ]] || fail "nsd_url: no daemon '$1'"
	printf '%s\n' "${_NSD_URL[$1]}"
}

nsd_pid() {
	printf '%s\n' "${_NSD_PID[$1]:-}"
}

# nsd_get KEY PATH [CURL ARGS...]: GET PATH of KEY, signed with the
# cluster's token.
nsd_get() {
	local url=$1 path=$2
	shift 2
	[[ $url == http* ]] || url=$(nsd_url "$url")
	netns_curl -fsS -H "X-Godistcc-Auth: $("$ROOT/t/tools/bin/authsign" "$NSD_TOKEN_FILE" GET "$path")" \
		"$@" "$url$path"
}

# nsd_status KEY [FIELD]: KEY's /v1/status (JSON), or FIELD of it (jq
# syntax after the dot: "jobs_completed", "toolchains | length").
nsd_status() {
	local out
	out=$(nsd_get "$1" /v1/status --max-time 5) ||
		fail "GET $(nsd_url "$1")/v1/status failed"
	if (($# > 1)); then
		jq -er ".$2" <<<"$out" || fail "no field '$2' in the /v1/status of $1: $out"
	else
		printf '%s\n' "$out"
	fi
}

# nsd_cluster KEY: KEY's /v1/cluster (JSON).
nsd_cluster() {
	nsd_get "$1" /v1/cluster --max-time 5 ||
		fail "GET $(nsd_url "$1")/v1/cluster failed"
}

# nsd_kill KEY: SIGKILL KEY (a volunteer dying).
nsd_kill() {
	local pid=${_NSD_PID[$1]:-}
	[[ -n $pid ]] || fail "nsd_kill: $1 is not running"
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null || true
	_NSD_PID[$1]=
	note "dispatchd $1 (pid $pid) killed with SIGKILL"
}

# nsd_stop KEY: SIGTERM KEY; fail unless it exits with status 0 within 10 s
# and its log has no sanitizer report.
nsd_stop() {
	local key=$1 pid=${_NSD_PID[$1]:-} i rc=0 log=$NETNS_WORK/$1.log
	[[ -n $pid ]] || fail "nsd_stop: $key is not running"
	kill -TERM "$pid"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	_NSD_PID[$key]=
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		tail_file "$log"
		fail "dispatchd $key did not exit within 10 s of SIGTERM"
	fi
	wait "$pid" || rc=$?
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$log"; then
		tail_file "$log" 40
		fail "dispatchd $key's log has a sanitizer report (see $log)"
	fi
	((rc == 0)) || { tail_file "$log"; fail "dispatchd $key exited with status $rc after SIGTERM (want 0)"; }
	note "dispatchd $key (pid $pid) stopped"
}

# _nsd_shm: set _NETNS_SHM, the directory for the daemons' sandboxes.
_nsd_shm() {
	[[ -z ${_NETNS_SHM:-} ]] || return 0
	local d=$NETNS_WORK/shm
	if [[ $(stat -f -c %T /dev/shm 2>/dev/null) == tmpfs ]]; then
		d=/dev/shm/godistcc-netns-$$
	fi
	mkdir -p "$d"
	_NETNS_SHM=$d
}

_nsd_launch() {
	local key=$1 log=$NETNS_WORK/$1.log i pid
	local -a prefix=()
	[[ -z ${_NSD_PREFIX[$key]} ]] || read -ra prefix <<<"${_NSD_PREFIX[$key]}"
	eval "local -a args=(${_NSD_ARGS[$key]})"
	echo "--- $(date +%T) ${prefix[*]} $DISPATCHD ${_NSD_ARGS[$key]}" >>"$log"
	netns_bg "${_NSD_NS[$key]}" ${prefix[@]+"${prefix[@]}"} "$DISPATCHD" "${args[@]}" 2>>"$log"
	pid=$NETNS_PID
	_NSD_PID[$key]=$pid
	for ((i = 0; i < 200; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			_NSD_PID[$key]=
			tail_file "$log"
			fail "dispatchd $key exited during startup: $(tail -n 2 "$log" | tr '\n' ' ')"
		fi
		nsd_get "${_NSD_URL[$key]}" /v1/status --max-time 1 >/dev/null 2>&1 && break
		sleep 0.05
	done
	((i < 200)) || { tail_file "$log"; fail "dispatchd $key did not answer at ${_NSD_URL[$key]} within 10 s"; }
	note "dispatchd $key pid $pid answers at ${_NSD_URL[$key]} (in ${_NSD_NS[$key]}; log $log)"
}

# --- internals ----------------------------------------------------------------

# _nsd_token: the cluster's token, made once: NSD_TOKEN_FILE, also exported
# as GODISTCC_TOKEN_FILE for the shims of the test.
_nsd_token() {
	[[ -z ${NSD_TOKEN_FILE:-} ]] || return 0
	[[ -x $ROOT/t/tools/bin/authsign ]] || fail "t/tools/bin/authsign is not built (make tools)"
	NSD_TOKEN_FILE=$NETNS_WORK/token
	(umask 077 && head -c 32 /dev/urandom | base64 >"$NSD_TOKEN_FILE")
	export GODISTCC_TOKEN_FILE=$NSD_TOKEN_FILE
}

# netns_delay_ms: the delay each way in milliseconds (0 in veth mode).
netns_delay_ms() {
	if [[ $NETNS_MODE == veth ]]; then echo 0; else echo "$NETNS_DELAY_MS"; fi
}

_netns_kill_all() {
	local ns i pids
	for ns in "$@"; do
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		[[ -z ${pids// /} ]] || kill -TERM $pids 2>/dev/null || true
	done
	for ((i = 0; i < 60; i++)); do
		pids=
		for ns in "$@"; do
			pids+=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		done
		[[ -n ${pids// /} ]] || return 0
		sleep 0.1
	done
	kill -KILL $pids 2>/dev/null || true
	sleep 0.2
}

_netns_on_exit() {
	local rc=$?
	# Exiting anyway: no errexit or ERR trap for what follows (the
	# "(exit $rc)" that hands the status on to the next trap fails).
	set +e
	trap - ERR
	netns_cleanup
	if [[ -n $_NETNS_PREV_EXIT ]]; then
		(exit "$rc")
		eval "$_NETNS_PREV_EXIT"
	fi
	return "$rc"
}

_netns_quiet_ipv6() {
	ip netns exec "$1" sh -c 'for f in /proc/sys/net/ipv6/conf/*/disable_ipv6; do
		[ -w "$f" ] && echo 1 >"$f"; done' 2>/dev/null || true
}

# Namespaces of runs whose process is gone (a SIGKILLed test): delete them.
_netns_sweep() {
	local ns pid
	local -A dead=()
	while read -r ns _; do
		[[ $ns =~ ^gdn([0-9]+)- ]] || continue
		pid=${BASH_REMATCH[1]}
		((pid != $$)) || continue
		kill -0 "$pid" 2>/dev/null && continue
		dead[$ns]=1
	done < <(ip netns list 2>/dev/null)
	((${#dead[@]} > 0)) || return 0
	note "netns: deleting namespaces of finished runs: ${!dead[*]}"
	_netns_kill_all "${!dead[@]}"
	for ns in "${!dead[@]}"; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

# _netns_netlag: find or build t/tools/netlag.
_netns_netlag() {
	[[ -z $_NETNS_NETLAG ]] || return 0
	local src=$ROOT/t/tools/netlag.c bin=$ROOT/t/tools/bin/netlag
	if [[ -x $bin && ! $bin -ot $src ]]; then
		_NETNS_NETLAG=$bin
		return 0
	fi
	command -v "${CC:-cc}" >/dev/null || fail "prerequisite: no C compiler to build $src"
	"${CC:-cc}" -std=c17 -D_GNU_SOURCE -O2 -o "$NETNS_WORK/netlag" "$src" ||
		fail "netns: cannot build $src"
	_NETNS_NETLAG=$NETNS_WORK/netlag
}

_netns_has_netem() {
	local ok=1
	ip -n "$_NETNS_HUB" link add gdnprobe0 type veth peer name gdnprobe1 2>/dev/null || return 1
	ip netns exec "$_NETNS_HUB" tc qdisc add dev gdnprobe0 root netem delay 1ms 2>/dev/null || ok=0
	ip -n "$_NETNS_HUB" link del gdnprobe0 2>/dev/null || true
	((ok))
}

_netns_setup() {
	[[ -n $_NETNS_NETLAG ]] || netns_need
	_netns_sweep
	# Chain the EXIT trap already set (lib.sh's _on_exit, a script's own).
	local prev
	prev=$(trap -p EXIT)
	if [[ -n $prev ]]; then
		eval "set -- $prev"
		[[ $3 == _netns_on_exit ]] || _NETNS_PREV_EXIT=$3
	fi
	trap _netns_on_exit EXIT
	ip netns add "$_NETNS_HUB" || fail "netns: ip netns add $_NETNS_HUB failed"
	_NETNS_ALL+=("$_NETNS_HUB")
	ip -n "$_NETNS_HUB" link set lo up
	_netns_quiet_ipv6 "$_NETNS_HUB"
	ip -n "$_NETNS_HUB" link add br0 type bridge forward_delay 0 stp_state 0
	ip -n "$_NETNS_HUB" addr add "$_NETNS_NET.254/24" dev br0
	ip -n "$_NETNS_HUB" link set br0 up
	if [[ $NETNS_MODE == auto ]]; then
		if _netns_has_netem; then
			NETNS_MODE=netem
		else
			NETNS_MODE=relay
			note "netns: this kernel has no netem qdisc: delaying with netlag relays"
		fi
	elif [[ $NETNS_MODE == netem ]] && ! _netns_has_netem; then
		fail "prerequisite: NETNS_MODE=netem but 'tc qdisc add ... netem' fails (no sch_netem in this kernel?)"
	fi
	if [[ $NETNS_MODE == relay ]]; then
		[[ -c /dev/net/tun ]] || fail "prerequisite: no /dev/net/tun for the netlag relays"
	fi
	_NETNS_UP=1
	note "netns: hub $_NETNS_HUB, bridge br0 $_NETNS_NET.254/24"
}
