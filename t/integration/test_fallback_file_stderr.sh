# Fallback when the go command's stderr is a regular file (go build 2>log):
# the build succeeds, and the warning must not become a compile's cached
# output, which later builds would replay from GOCACHE.
need_bins
mod=$(copy_testmod)
cd "$mod"
start_daemon
port=$DAEMON_PORT
stop_daemon
export GODISTCC_DISPATCHER="http://127.0.0.1:$port"
RUN_GO_STDERR=file must_go plain plain build -o "$T_DIR/app.plain" ./cmd/app
RUN_GO_STDERR=file GODISTCC_FALLBACK=1 must_go dist fb build -o "$T_DIR/app.fb" ./cmd/app
nwarn=$(grep -c 'godistcc: warning:' "$T_DIR/fb/stderr" || true)
((nwarn >= 1)) || fail "fallback build printed no 'godistcc: warning:' line"
assert_same_file "$T_DIR/app.plain" "$T_DIR/app.fb"
assert_same_cache plain fb
# What a user would see: a later plain build with that cache replays it.
GOCACHE_REUSE=fb RUN_GO_STDERR=file must_go plain replay build ./...
! grep 'godistcc' "$T_DIR/replay/stderr" ||
	fail "a later plain build replays godistcc's warning from GOCACHE"
