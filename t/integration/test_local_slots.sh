# Local slots: with go build -p 64 and no dispatcher, every compile falls
# back to a local run, and GODISTCC_LOCAL_SLOTS=2 keeps at most 2 tools
# (compile, asm, cgo, link, their -V=full probes) running at once on this
# host, as counted from /proc by t/tools/bin/procpeak, which knows nothing
# of the shim. The build, with links and cgo, is byte-identical to a plain
# one. The control, GODISTCC_LOCAL_SLOTS=0 (no limit), shows that the
# measurement does see more than 2.
need_bins
PEAK=$ROOT/t/tools/bin/procpeak
[[ -x $PEAK ]] || fail "prerequisite: $PEAK is missing (run make tools)"
tooldir="$("$GO" env GOROOT)/pkg/tool/"
[[ -d $tooldir ]] || fail "prerequisite: no $tooldir"
# The slots of this test alone: the default runtime directory's would be
# shared with whatever else this user builds meanwhile.
export XDG_RUNTIME_DIR="$T_DIR/run"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
export GODISTCC_DISPATCHER="unix:$T_DIR/none.sock" GODISTCC_FALLBACK=1
pkgs=(cmd/gofmt cmd/vet cmd/pack cmd/addr2line cmd/nm cmd/objdump net/http)

# with_peak NAME COMMAND...: run COMMAND while procpeak counts the tool
# processes among this test's descendants (under $tooldir, and under
# $PEAK_ALSO when set); sets PEAK_N.
with_peak() {
	local name=$1 stop="$T_DIR/$1.stop" out="$T_DIR/$1.peak" pid n samples
	shift
	"$PEAK" -a $$ -f "$stop" "$tooldir" ${PEAK_ALSO:+"$PEAK_ALSO"} >"$out" 2>"$out.err" &
	pid=$!
	"$@"
	touch "$stop"
	wait "$pid" || fail "procpeak exited with status $?"
	read -r _ n _ samples <"$out" || fail "procpeak printed nothing"
	note "$name: peak $n tool processes at once, $samples samples; $(cat "$out.err")"
	((samples >= 100)) || fail "procpeak took only $samples samples during $name"
	PEAK_N=$n
}

with_peak plain must_go plain plain build -x -a -p 64 -o "$T_DIR/bin.plain/" "${pkgs[@]}"

GODISTCC_LOCAL_SLOTS=2 with_peak slots2 \
	must_go dist slots2 build -x -a -p 64 -o "$T_DIR/bin.slots2/" "${pkgs[@]}"
((PEAK_N <= 2)) || fail "GODISTCC_LOCAL_SLOTS=2: $PEAK_N tools ran at once"
((PEAK_N == 2)) || fail "GODISTCC_LOCAL_SLOTS=2: at most $PEAK_N tool ran at once with -p 64, want 2"
ncompile=$(count_tool slots2 compile)
nlink=$(count_tool slots2 link)
nslot=$(grep -c 'local slot (of 2)' "$GODISTCC_LOG" || true)
note "slots2: $ncompile compiles, $nlink links; $nslot compile and asm runs logged their slot"
((ncompile > 200 && nlink == 6)) || fail "expected > 200 compiles and 6 links, got $ncompile and $nlink"
((nslot >= ncompile)) || fail "only $nslot of $ncompile compiles ran in a local slot (see $GODISTCC_LOG)"
nwarn=$(grep -c '^godistcc: warning:' "$T_DIR/slots2/stderr" || true)
((nwarn == 1)) || fail "the fallback printed $nwarn warnings, want 1"
assert_same_cache plain slots2
assert_same_dir "$T_DIR/bin.plain" "$T_DIR/bin.slots2"
drop_cache plain
drop_cache slots2

# The control: without a limit, the same measurement sees more than 2.
GODISTCC_LOCAL_SLOTS=0 with_peak unlimited \
	must_go dist unlimited build -a -p 64 -o "$T_DIR/bin.unlimited/" cmd/gofmt encoding/json
((PEAK_N > 2)) || fail "GODISTCC_LOCAL_SLOTS=0: the peak was $PEAK_N; the measurement cannot tell a limit from none"

# The user's own dispatchd shares the pool: its jobs from the local socket
# take local slots too, so with a daemon of 4 slots and the shims' links
# beside it, the client still runs at most 2 tools at once. The daemon runs
# the copies of the tools it stored under its state directory: they count.
drop_cache unlimited
export GODISTCC_LOCAL_SLOTS=2
DAEMON_SLOTS=4 start_daemon
PEAK_ALSO="$DAEMON_STATE/toolchains/" with_peak daemon2 \
	must_go dist daemon2 build -a -p 64 -o "$T_DIR/bin.daemon2/" "${pkgs[@]}"
jobs=$(status_field jobs_local)
peak=$(status_field peak_running)
note "daemon2: the daemon ran $jobs jobs from the socket, at most $peak at once"
((jobs > 200)) || fail "the daemon ran only $jobs jobs from the socket"
((PEAK_N <= 2)) || fail "with the daemon's jobs, $PEAK_N tools ran at once on the client"
assert_same_dir "$T_DIR/bin.plain" "$T_DIR/bin.daemon2"
stop_daemon
