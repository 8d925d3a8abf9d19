# With the dispatcher gone: GODISTCC_FALLBACK=1 builds locally with
# identical outputs and exactly one warning; GODISTCC_FALLBACK=0 fails with
# an error naming the dispatcher.
need_bins
mod=$(copy_testmod)
cd "$mod"
start_daemon
port=$DAEMON_PORT
stop_daemon
dead="127.0.0.1:$port"
export GODISTCC_DISPATCHER="http://$dead"
! curl -fsS --max-time 2 "$GODISTCC_DISPATCHER/v1/status" >/dev/null 2>&1 ||
	fail "something still answers on $dead after stopping the daemon"
must_go plain plain build -o "$T_DIR/app.plain" ./cmd/app
GODISTCC_FALLBACK=1 must_go dist fb-on build -o "$T_DIR/app.on" ./cmd/app
nwarn=$(cat "$T_DIR/fb-on/stdout" "$T_DIR/fb-on/stderr" | grep -c '^godistcc: warning:' || true)
if ((nwarn != 1)); then
	head -n 20 "$T_DIR/fb-on/stderr"
	fail "fallback build printed $nwarn 'godistcc: warning:' lines, want exactly 1"
fi
note "warning: $(grep -m1 '^godistcc: warning:' "$T_DIR/fb-on/stderr" "$T_DIR/fb-on/stdout")"
assert_same_file "$T_DIR/app.plain" "$T_DIR/app.on"
# The warning must not end up in GOCACHE as some compile's cached output.
assert_same_cache plain fb-on
rc=0
GODISTCC_FALLBACK=0 run_go dist fb-off build -o "$T_DIR/app.off" ./cmd/app || rc=$?
((rc != 0)) || fail "build with GODISTCC_FALLBACK=0 and no dispatcher succeeded"
grep -h 'godistcc: error:' "$T_DIR/fb-off/stdout" "$T_DIR/fb-off/stderr" | head -n 3
grep -h 'godistcc: error:' "$T_DIR/fb-off/stdout" "$T_DIR/fb-off/stderr" | grep -qF "$dead" || {
	tail_file "$T_DIR/fb-off/stderr" 15
	fail "GODISTCC_FALLBACK=0: no 'godistcc: error:' line naming $dead"
}
