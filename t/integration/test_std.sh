# go build -a std through godistcc: every archive byte-identical to a plain
# build's, and the daemon ran at least as many jobs as there were compiles,
# all of them through its local socket (the path a user with a dispatchd on
# the same host gets).
need_bins
ref=$(plain_reference std-a build -x -a std)
start_daemon
[[ $(status_field slots) == "${DAEMON_SLOTS:-2}" ]] || fail "/v1/status slots is $(status_field slots), want ${DAEMON_SLOTS:-2}"
before=$(status_field jobs_completed)
local_before=$(status_field jobs_local)
must_go dist std-a build -x -a std
after=$(status_field jobs_completed)
local_after=$(status_field jobs_local)
ncompile=$(count_tool std-a compile)
nplain=$(count_tool "$ref" compile)
note "compiles: $ncompile through godistcc, $nplain plain; jobs_completed $before -> $after"
((ncompile == nplain)) || fail "the godistcc build ran $ncompile compiles, the plain one $nplain"
((after - before >= ncompile)) ||
	fail "daemon completed $((after - before)) jobs for a build with $ncompile compiles"
((local_after - local_before >= ncompile)) ||
	fail "only $((local_after - local_before)) of $ncompile compiles came through the local socket"
assert_same_cache "$ref" std-a
[[ $(status_field jobs_failed) == 0 ]] || fail "daemon reports $(status_field jobs_failed) failed jobs"
[[ $(status_field running) == 0 ]] || fail "daemon reports $(status_field running) running jobs after the build"
! grep -m3 'godistcc: warning:' "$T_DIR/std-a/stderr" ||
	fail "godistcc printed a warning with GODISTCC_FALLBACK=0 and a working daemon"
stop_daemon
