# Helpers the benchmark scripts share (sourced, not run).

# median: the median of the numbers on standard input, one per line; nan
# when there are none.
median() {
	sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan"; exit }
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The helpers below need the bench's $work directory, $GO, $DISPATCHD and
# die(); the dispatchd ones also "declare -A D_PID=() D_URL=()".

# daemon_start NAME ARGS...: a dispatchd on an ephemeral port of 127.0.0.1,
# state directory $work/NAME.state, log $work/NAME.log; waits until its
# /v1/status answers and sets D_PID[NAME], D_URL[NAME]. D_PREFIX (words,
# such as "taskset -c 1") goes before the command.
daemon_start() {
	local name=$1 i port=
	shift
	mkdir -p "$work/$name.state"
	${D_PREFIX:-} "$DISPATCHD" --listen 127.0.0.1:0 --port-file "$work/$name.port" \
		--state-dir "$work/$name.state" "$@" 2>"$work/$name.log" &
	D_PID[$name]=$!
	for ((i = 0; i < 200; i++)); do
		if ! kill -0 "${D_PID[$name]}" 2>/dev/null; then
			D_PID[$name]=
			tail -n 20 "$work/$name.log" >&2
			die "dispatchd $name exited during startup"
		fi
		port=$(cat "$work/$name.port" 2>/dev/null || true)
		[[ $port =~ ^[0-9]+$ ]] && curl -fsS --max-time 2 "http://127.0.0.1:$port/v1/status" >/dev/null 2>&1 && break
		sleep 0.05
	done
	((i < 200)) || die "dispatchd $name did not answer within 10 s"
	D_URL[$name]=http://127.0.0.1:$port
}

# daemon_stop NAME: SIGTERM, and wait for it to exit.
daemon_stop() {
	[[ -n ${D_PID[$1]:-} ]] || return 0
	kill -TERM "${D_PID[$1]}" 2>/dev/null || true
	wait "${D_PID[$1]}" 2>/dev/null || true
	D_PID[$1]=
}

daemon_stop_all() {
	local n
	for n in "${!D_PID[@]}"; do daemon_stop "$n"; done
}

# capture_compile PKG DIR ARGS...: runs "go build -work ARGS" in DIR, with
# a fresh GOCACHE ($work/capture-cache) and a -toolexec wrapper that
# records the compile of package PKG; CAPTURE_PREFIX (words, such as
# "taskset -c 1") goes before go. Sets argv (that compile's command
# line), cwd (its directory) and gowork (the build's $WORK, kept for the
# importcfg it holds: the caller removes it, and $work/capture-cache).
capture_compile() {
	local pkg=$1 dir=$2
	shift 2
	cat >"$work/logexec" <<'EOS'
#!/bin/sh
# Records the compile command line of package $CAPTURE_PKG, then runs it.
case "$1" in
*/compile)
	if [ "$TOOLEXEC_IMPORTPATH" = "$CAPTURE_PKG" ] && [ "$2" != -V=full ]; then
		pwd >"$CAPTURE.cwd"
		printf '%s\0' "$@" >"$CAPTURE"
	fi ;;
esac
exec "$@"
EOS
	chmod +x "$work/logexec"
	(cd "$dir" && CAPTURE="$work/capture" CAPTURE_PKG=$pkg GOCACHE="$work/capture-cache" \
		${CAPTURE_PREFIX:-} "$GO" build -work -toolexec="$work/logexec" "$@") >"$work/capture.log" 2>&1 ||
		{ cat "$work/capture.log" >&2; die "capturing the compile of $pkg failed"; }
	[[ -s $work/capture ]] || die "no compile command captured for $pkg"
	gowork=$(sed -n 's/^WORK=//p' "$work/capture.log")
	mapfile -d '' argv <"$work/capture"
	cwd=$(cat "$work/capture.cwd")
}
