# A package that does not compile (a type error in one file, an undefined
# name in another): the go command's stdout, stderr and exit status through
# godistcc are byte-equal to a plain build's.
need_bins
mod=$(copy_testmod testbroken)
cd "$mod"
start_daemon
rc_plain=0
run_go plain broken build ./... || rc_plain=$?
((rc_plain != 0)) || fail "plain build of testbroken succeeded"
grep -q 'undefined: undefinedThing' "$T_DIR/broken/stderr" &&
	grep -q 'cannot use "three"' "$T_DIR/broken/stderr" ||
	fail "plain build of testbroken did not report both errors: $(cat "$T_DIR/broken/stderr")"
# Through the local socket and over HTTP.
for via in "unix:$DAEMON_SOCKET" "$DAEMON_URL"; do
	rc_dist=0
	name=broken-${via%%:*}
	GODISTCC_DISPATCHER=$via run_go dist "$name" build ./... || rc_dist=$?
	((rc_dist == rc_plain)) || fail "exit status $rc_dist through godistcc ($via), $rc_plain plain"
	if ! cmp -s "$T_DIR/broken/stderr" "$T_DIR/$name/stderr"; then
		diff -u "$T_DIR/broken/stderr" "$T_DIR/$name/stderr" | head -n 30
		fail "stderr through godistcc ($via) differs from a plain build's (diff in log)"
	fi
	cmp -s "$T_DIR/broken/stdout" "$T_DIR/$name/stdout" || fail "stdout differs ($via)"
done
# The failing compile itself went to the daemon: rebuild with the
# dependencies cached, so that it is the only compile.
before=$(status_field jobs_completed)
GOCACHE_REUSE=broken-unix run_go dist broken-x build -x ./... || true
after=$(status_field jobs_completed)
n=$(count_tool broken-x compile)
note "rebuild: $n compiles; jobs_completed $before -> $after"
((n >= 1 && after - before >= n)) ||
	fail "the failing compile did not run on the daemon ($n compiles, $((after - before)) jobs)"
stop_daemon
