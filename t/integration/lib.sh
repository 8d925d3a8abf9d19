# Helpers for the integration tests; sourced by t/integration/run into the
# bash process of each test (set -Eeuo pipefail is on).
#
# The runner sets:
#   T_DIR   the test's own empty directory (also its working directory)
#   T_NAME  the test's name (file name without .sh)
#   ROOT    the top of the source tree
#   T_REF   a directory shared by all tests of one run, for reference
#           results that are expensive to compute (see plain_reference)
#
# A test is a sequence of commands; it fails by calling fail (or by any
# command failing, which the ERR trap reports) and passes by reaching its
# end. Everything it prints goes to its log, which the runner shows on
# failure.

SHIM=${GODISTCC_SHIM:-$ROOT/bin/godistcc}
DISPATCHD=${GODISTCC_DISPATCHD:-$ROOT/bin/dispatchd}
GO=${GO:-go}

# --- environment ---------------------------------------------------------

# A hermetic Go environment: no user go.env, no network, no toolchain
# switching, no GOFLAGS from the caller, no cross-compilation or godistcc
# settings leaking in from the caller's environment.
export GOENV=off GOTOOLCHAIN=local GOPROXY=off GOSUMDB=off GOWORK=off
export GOFLAGS=
# The go command caches a module index ("go index v2" entries) only for
# directories not modified in the last few seconds, so two builds of a fresh
# copy would differ in those entries for reasons unrelated to compiling.
# Nothing but the go command reads this setting.
export GODEBUG=goindex=0
export GOPATH="$T_DIR/gopath"
unset GOOS GOARCH GOAMD64 GOEXPERIMENT GOCACHE GOTMPDIR CGO_ENABLED GOROOT \
	GOCACHEPROG GOMODCACHE
# No godistcc settings from the caller's environment or config file; the
# shim logs to the test's directory.
unset $(compgen -e | grep '^GODISTCC_' || true)
export XDG_CONFIG_HOME="$T_DIR/xdg-config"
export GODISTCC_FALLBACK=0
export GODISTCC_LOG="$T_DIR/shim.log" GODISTCC_LOG_LEVEL=debug

# --- reporting -----------------------------------------------------------

# note MSG...: a progress line in the test's log.
note() {
	printf '[%s] %s\n' "$(date +%T)" "$*"
}

# fail MSG...: record why the test fails (first reason wins) and stop it.
fail() {
	[[ -s $T_DIR/.reason ]] || printf '%s\n' "$*" >"$T_DIR/.reason"
	printf 'FAIL: %s\n' "$*"
	exit 1
}

_on_err() {
	local rc=$1 cmd=$2 where=$3
	fail "unexpected error (exit $rc) at $where: $cmd"
}

_on_exit() {
	local rc=$?
	trap - ERR
	if [[ -n ${DAEMON_PID:-} ]]; then
		# CONT: a test may have left it stopped.
		kill -TERM "$DAEMON_PID" 2>/dev/null || true
		kill -CONT "$DAEMON_PID" 2>/dev/null || true
		wait "$DAEMON_PID" 2>/dev/null || true
	fi
	return "$rc"
}

trap '_on_err $? "$BASH_COMMAND" "${BASH_SOURCE[0]##*/}:$LINENO"' ERR
trap _on_exit EXIT
trap 'fail "interrupted (timeout?)"' TERM INT

# tail_file FILE [N]: the last N (default 30) lines of FILE, indented.
tail_file() {
	[[ -f $1 ]] || { echo "    ($1 does not exist)"; return 0; }
	tail -n "${2:-30}" "$1" | sed 's/^/    /'
}

# --- prerequisites -------------------------------------------------------

# need_go: fail unless the go command is usable and at least go1.21.
need_go() {
	command -v "$GO" >/dev/null || fail "prerequisite: no go command on PATH"
	local v
	v=$("$GO" env GOVERSION) || fail "prerequisite: '$GO env GOVERSION' failed"
	[[ $v =~ ^go1\.([0-9]+) ]] || fail "prerequisite: cannot parse Go version '$v'"
	((BASH_REMATCH[1] >= 21)) || fail "prerequisite: $v is older than go1.21 (found $(command -v "$GO"))"
}

# need_bins: fail unless the shim and the daemon are built, and curl and jq
# exist.
need_bins() {
	need_go
	[[ -x $SHIM ]] || fail "prerequisite: $SHIM is missing (run make)"
	[[ -x $DISPATCHD ]] || fail "prerequisite: $DISPATCHD is missing (run make)"
	command -v curl >/dev/null || fail "prerequisite: curl is not installed"
	command -v jq >/dev/null || fail "prerequisite: jq is not installed"
}

# copy_testmod [NAME]: copy t/NAME (default testmod) into $T_DIR/NAME and
# print its path. Builds run in a copy outside the git work tree so that
# commits landing meanwhile cannot change VCS stamps between two builds.
copy_testmod() {
	local name=${1:-testmod}
	[[ -d $ROOT/t/$name ]] || fail "prerequisite: $ROOT/t/$name is missing"
	rm -rf "${T_DIR:?}/$name"
	cp -R "$ROOT/t/$name" "$T_DIR/$name"
	printf '%s\n' "$T_DIR/$name"
}

# --- daemon --------------------------------------------------------------

# start_daemon [EXTRA ARGS...]: start dispatchd on an ephemeral loopback
# port and a local socket in the test's directory, with a fresh state
# directory, wait until /v1/health answers, and set DAEMON_PID, DAEMON_PORT,
# DAEMON_URL, DAEMON_SOCKET (DAEMON_SOCKET_AT chooses it), DAEMON_LOG,
# DAEMON_STATE and export
# GODISTCC_DISPATCHER: unix:$DAEMON_SOCKET, the path a shim takes to a
# dispatchd of its own user on its own host, or $DAEMON_URL when
# DAEMON_TRANSPORT=http (the path to any other dispatcher). One daemon per
# test at a time. For a daemon started with --tls-cert, set DAEMON_SCHEME=https
# and DAEMON_CACERT; with --token-file, DAEMON_TOKEN_FILE (daemon_get signs).
start_daemon() {
	[[ -z ${DAEMON_PID:-} ]] || fail "start_daemon: a daemon is already running"
	_daemon_n=$((${_daemon_n:-0} + 1))
	local base="$T_DIR/daemon$_daemon_n"
	DAEMON_STATE="$base.state"
	DAEMON_LOG="$base.log"
	local portfile="$base.port"
	rm -rf "$DAEMON_STATE" "$portfile"
	mkdir -p "$DAEMON_STATE"
	note "starting $DISPATCHD (log $DAEMON_LOG)"
	DAEMON_SOCKET=${DAEMON_SOCKET_AT:-$base.sock}
	"$DISPATCHD" --listen 127.0.0.1:0 --port-file "$portfile" --socket "$DAEMON_SOCKET" \
		--state-dir "$DAEMON_STATE" --slots "${DAEMON_SLOTS:-2}" \
		--log-level debug "$@" 2>"$DAEMON_LOG" &
	DAEMON_PID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			local rc=0
			wait "$DAEMON_PID" || rc=$?
			DAEMON_PID=
			tail_file "$DAEMON_LOG"
			fail "dispatchd exited during startup with status $rc; log: $(tail -n 3 "$DAEMON_LOG" | tr '\n' ' ')"
		fi
		if [[ -s $portfile ]]; then
			DAEMON_PORT=$(tr -d ' \n' <"$portfile")
			if [[ $DAEMON_PORT =~ ^[0-9]+$ ]] &&
				curl -fsS --max-time 2 ${DAEMON_CACERT:+--cacert "$DAEMON_CACERT"} \
					"${DAEMON_SCHEME:-http}://127.0.0.1:$DAEMON_PORT/v1/health" >/dev/null 2>&1; then
				DAEMON_URL="${DAEMON_SCHEME:-http}://127.0.0.1:$DAEMON_PORT"
				case ${DAEMON_TRANSPORT:-unix} in
				unix) export GODISTCC_DISPATCHER=unix:$DAEMON_SOCKET ;;
				http) export GODISTCC_DISPATCHER=$DAEMON_URL ;;
				*) fail "start_daemon: DAEMON_TRANSPORT must be unix or http" ;;
				esac
				note "dispatchd pid $DAEMON_PID answers at $DAEMON_URL; shims use $GODISTCC_DISPATCHER"
				return 0
			fi
		fi
		sleep 0.05
	done
	tail_file "$DAEMON_LOG"
	fail "dispatchd did not write its port file / answer /v1/status within 10 s (port file: '$(cat "$portfile" 2>/dev/null)')"
}

# stop_daemon: SIGTERM the daemon; fail unless it exits with status 0
# within 10 s and its log shows no sanitizer report.
stop_daemon() {
	[[ -n ${DAEMON_PID:-} ]] || fail "stop_daemon: no daemon running"
	local pid=$DAEMON_PID i rc=0
	kill -TERM "$pid"
	for ((i = 0; i < 200; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		DAEMON_PID=
		tail_file "$DAEMON_LOG"
		fail "dispatchd did not exit within 10 s of SIGTERM"
	fi
	wait "$pid" || rc=$?
	DAEMON_PID=
	note "dispatchd pid $pid exited with status $rc"
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$DAEMON_LOG"; then
		tail_file "$DAEMON_LOG" 40
		fail "dispatchd log has a sanitizer report (see $DAEMON_LOG)"
	fi
	((rc == 0)) || { tail_file "$DAEMON_LOG"; fail "dispatchd exited with status $rc after SIGTERM (want 0)"; }
}

# daemon_get PATH [CURL ARGS...]: GET PATH of the daemon, signed when
# DAEMON_TOKEN_FILE names the daemon's token, verified against
# DAEMON_CACERT when set (https).
daemon_get() {
	local path=$1
	shift
	local -a auth=()
	[[ -z ${DAEMON_TOKEN_FILE:-} ]] ||
		auth=(-H "X-Godistcc-Auth: $("$ROOT/t/tools/bin/authsign" "$DAEMON_TOKEN_FILE" GET "$path")")
	curl -fsS ${DAEMON_CACERT:+--cacert "$DAEMON_CACERT"} ${auth[@]+"${auth[@]}"} "$@" \
		"$DAEMON_URL$path"
}

# status_json: print the daemon's /v1/status answer.
status_json() {
	local out
	out=$(daemon_get /v1/status --max-time 5) ||
		fail "GET $DAEMON_URL/v1/status failed"
	jq -e . >/dev/null <<<"$out" || fail "/v1/status is not JSON: $out"
	printf '%s\n' "$out"
}

# status_field NAME: print one integer field of /v1/status.
status_field() {
	local json v
	json=$(status_json)
	v=$(jq -er --arg f "$1" '.[$f] | numbers' <<<"$json") ||
		fail "/v1/status has no integer field '$1': $json"
	printf '%s\n' "$v"
}

# --- builds --------------------------------------------------------------

# run_go MODE NAME SUBCMD [ARGS...]: run "go SUBCMD ARGS..." in the current
# directory with a fresh GOCACHE at $T_DIR/NAME/gocache (NAME may also be
# an absolute directory). MODE "plain" runs go as is; "dist" adds
# -toolexec=$SHIM after SUBCMD, and the shim's hash cache is
# $T_DIR/shimcache. Set GOCACHE_REUSE=OTHER (a build name, for one call)
# to build with OTHER's cache instead of a fresh one. $GO is the go
# command: set it for one call to build with another toolchain
# (GO=/usr/lib/go-1.19/bin/go must_go ...; also for plain_reference, with a
# KEY naming the version). Leaves $T_DIR/NAME/{stdout,stderr,rc,cmd}.
# Returns go's exit status.
run_go() {
	local mode=$1 name=$2 sub=$3
	shift 3
	local d
	d=$(_bdir "$name")
	[[ ! -e $d ]] || fail "run_go: build name '$name' used twice"
	mkdir -p "$d"
	local cache="$d/gocache"
	if [[ -n ${GOCACHE_REUSE:-} ]]; then
		cache="$(_bdir "$GOCACHE_REUSE")/gocache"
		ln -s "$cache" "$d/gocache"
	fi
	local -a cmd=("$GO" "$sub")
	case $mode in
	plain) ;;
	dist) cmd+=("-toolexec=$SHIM") ;;
	*) fail "run_go: bad mode '$mode'" ;;
	esac
	cmd+=("$@")
	printf '%q ' "GOCACHE=$cache" "${cmd[@]}" >"$d/cmd"
	echo >>"$d/cmd"
	note "$mode $name: $(cat "$d/cmd") (in $PWD)"
	local rc=0 t0=$SECONDS
	# go's stderr is a pipe, as on a terminal or in CI, unless
	# RUN_GO_STDERR=file.
	if [[ ${RUN_GO_STDERR:-pipe} == file ]]; then
		GOCACHE="$cache" GODISTCC_CACHE_DIR="$T_DIR/shimcache" \
			"${cmd[@]}" >"$d/stdout" 2>"$d/stderr" || rc=$?
	else
		GOCACHE="$cache" GODISTCC_CACHE_DIR="$T_DIR/shimcache" \
			"${cmd[@]}" 2>&1 >"$d/stdout" | cat >"$d/stderr" || rc=${PIPESTATUS[0]}
	fi
	echo "$rc" >"$d/rc"
	note "$mode $name: exit $rc after $((SECONDS - t0)) s"
	return "$rc"
}

# must_go MODE NAME SUBCMD [ARGS...]: run_go, and fail if go fails.
must_go() {
	local rc=0
	run_go "$@" || rc=$?
	if ((rc != 0)); then
		local d
		d=$(_bdir "$2")
		echo "--- stderr of $2:"
		tail_file "$d/stderr" 40
		[[ -z ${DAEMON_LOG:-} ]] || { echo "--- daemon log:"; tail_file "$DAEMON_LOG" 20; }
		[[ $1 == plain ]] || { echo "--- shim log:"; tail_file "$GODISTCC_LOG" 20; }
		fail "$1 build '$2' failed (exit $rc): $(grep -m1 -E 'godistcc|error|cannot|undefined' "$d/stderr" || tail -n 1 "$d/stderr")"
	fi
}

# count_tool NAME TOOL: how many times a "go -x" build ran TOOL (compile,
# asm, ...), not counting -V probes. Reads $T_DIR/NAME/stderr.
count_tool() {
	local f
	f="$(_bdir "$1")/stderr"
	grep -E "(^|[[:space:]])[^[:space:]]*/pkg/tool/[^/[:space:]]+/$2([[:space:]]|\$)" "$f" |
		grep -cv -- '-V=' || true
}

# --- the byte-identity oracle ----------------------------------------------

# cache_names NAME: the sorted names of GOCACHE entries ending in "-d" of
# build NAME (a name in $T_DIR or a build directory's path). These names
# are the SHA-256 of their content, so equal sets mean identical outputs.
# Left out: Go source that the go command generated and cached itself
# (cgo and cover output, _testmain.go); it can hold //line directives
# naming the random $WORK directory, so it differs between any two builds,
# and no tool that godistcc runs produces it.
cache_names() {
	local c
	c="$(_bdir "$1")/gocache"
	[[ -d $c ]] || fail "cache_names: no GOCACHE at $c"
	comm -23 \
		<(find -H "$c" -type f -name '*-d' -printf '%f\n' | LC_ALL=C sort) \
		<(find -H "$c" -type f -name '*-d' -print0 |
			xargs -0 -r awk 'FNR == 1 {
				if ($0 ~ /^(\/\/line |\/\/ Code generated )/) {
					n = FILENAME; sub(/.*\//, "", n); print n
				}
				nextfile
			}' | LC_ALL=C sort)
}

# describe_d FILE XLOG...: what a cache entry is: size, the build ID of an
# archive and the package whose compile used that action ID (from -x logs).
describe_d() {
	local f=$1 size bid act pkg=
	shift
	size=$(stat -c %s "$f")
	bid=$(head -c 4096 "$f" | grep -a -m1 -o 'build id "[^"]*"' | sed 's/build id "\(.*\)"/\1/' || true)
	act=${bid%%/*}
	if [[ -n $act ]]; then
		local x
		for x in "$@"; do
			[[ -f $x ]] || continue
			pkg=$(grep -F -- "-buildid $act/" "$x" | grep -o -m1 -E -- ' -p [^ ]+' | head -n 1 || true)
			[[ -z $pkg ]] || break
		done
	fi
	local text=
	[[ -n $bid ]] || text=$(head -c 100 "$f" | tr -c '[:print:]' '.')
	printf '%s (%s bytes%s%s%s)\n' "${f##*/}" "$size" "${bid:+, build id $bid}" \
		"${pkg:+, compile$pkg}" "${text:+: \"$text\"}"
}

# assert_same_cache A B: fail unless builds A and B (names or GOCACHE
# paths) produced the same set of "-d" entries; print the differing ones.
assert_same_cache() {
	_compare_caches "$1" "$2" equal
}

# assert_cache_subset A B: fail unless every "-d" entry of A is also in B
# (B ran more actions, for example tests, on top of A's).
assert_cache_subset() {
	_compare_caches "$1" "$2" subset
}

# _bdir NAME: the directory of build NAME (a name in $T_DIR or a path).
_bdir() {
	if [[ $1 == /* ]]; then printf '%s\n' "$1"; else printf '%s\n' "$T_DIR/$1"; fi
}

_compare_caches() {
	local a=$1 b=$2 how=$3 ca cb
	ca="$(_bdir "$a")/gocache"
	cb="$(_bdir "$b")/gocache"
	cache_names "$a" >"$T_DIR/.names.a"
	cache_names "$b" >"$T_DIR/.names.b"
	local na nb onlya onlyb
	na=$(wc -l <"$T_DIR/.names.a")
	nb=$(wc -l <"$T_DIR/.names.b")
	((na > 0)) || fail "GOCACHE of '$a' has no -d entries"
	onlya=$(comm -23 "$T_DIR/.names.a" "$T_DIR/.names.b")
	onlyb=$(comm -13 "$T_DIR/.names.a" "$T_DIR/.names.b")
	[[ $how == subset ]] && onlyb=
	if [[ -z $onlya && -z $onlyb ]]; then
		note "caches '$a' ($na entries) and '$b' ($nb entries): $how, OK"
		return 0
	fi
	local -a xlogs=("$(_bdir "$a")/stderr" "$(_bdir "$b")/stderr")
	local n f
	echo "--- -d entries only in '$a':"
	for n in $onlya; do
		f=$(find -H "$ca" -name "$n" | head -n 1)
		echo "    $(describe_d "$f" "${xlogs[@]}")"
	done
	echo "--- -d entries only in '$b':"
	for n in $onlyb; do
		f=$(find -H "$cb" -name "$n" | head -n 1)
		echo "    $(describe_d "$f" "${xlogs[@]}")"
	done
	fail "GOCACHE outputs differ ($how): $(wc -w <<<"$onlya") entries only in '$a' ($na total), $(wc -w <<<"$onlyb") only in '$b' ($nb total): $(head -c 300 <<<"$onlya $onlyb" | tr '\n' ' ')"
}

# assert_same_file A B: fail unless files A and B are byte-identical.
assert_same_file() {
	[[ -f $1 ]] || fail "missing output file $1"
	[[ -f $2 ]] || fail "missing output file $2"
	if ! cmp "$1" "$2"; then
		echo "sizes: $(stat -c %s "$1") vs $(stat -c %s "$2"); differing bytes: $(cmp -l "$1" "$2" 2>/dev/null | wc -l)"
		fail "$1 and $2 differ"
	fi
	note "identical: $1 $2"
}

# assert_same_dir A B: fail unless directories A and B hold the same file
# names (at least one) with byte-identical content.
assert_same_dir() {
	local a=$1 b=$2 la lb f
	la=$(cd "$a" && find . -type f | LC_ALL=C sort)
	lb=$(cd "$b" && find . -type f | LC_ALL=C sort)
	[[ -n $la ]] || fail "$a has no files"
	[[ $la == "$lb" ]] || fail "different files in $a and $b: $(diff <(echo "$la") <(echo "$lb") | grep '^[<>]' | tr '\n' ' ')"
	for f in $la; do
		assert_same_file "$a/$f" "$b/$f"
	done
}

# plain_reference KEY SUBCMD [ARGS...]: a plain build that does not depend
# on the working directory (such as "go build -a std"), run once per run of
# the suite and shared by the tests. Prints the build's directory, which
# run_go's helpers accept in place of a build name.
#   ref=$(plain_reference std-a build -x -a std)
plain_reference() {
	local key=$1
	shift
	local d="$T_REF/$key"
	if [[ ! -f $d/done ]]; then
		rm -rf "$d"
		must_go plain "$d" "$@" >&2
		touch "$d/done"
	else
		note "reusing the plain reference build $d" >&2
	fi
	printf '%s\n' "$d"
}

# drop_cache NAME: delete a build's GOCACHE once it has been compared
# (they are large; a failing test stops before this and keeps them).
drop_cache() {
	local d
	d=$(_bdir "$1")
	rm -rf "${d:?}/gocache"
}
