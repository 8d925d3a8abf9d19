# The test module with -trimpath, and cross-compiled for windows/arm64 and
# darwin/amd64: identical GOCACHE outputs and binaries.
need_bins
# Over HTTP, as to a dispatcher on another host.
export DAEMON_TRANSPORT=http
mod=$(copy_testmod)
cd "$mod"
start_daemon
check_pair() { # NAME GO-ARGS...: plain and godistcc builds of the app
	local name=$1 before after ncompile
	shift
	must_go plain "$name" build -x -o "$T_DIR/$name.plain" "$@" ./cmd/app
	before=$(status_field jobs_completed)
	must_go dist "$name-d" build -x -o "$T_DIR/$name.dist" "$@" ./cmd/app
	after=$(status_field jobs_completed)
	ncompile=$(count_tool "$name-d" compile)
	note "$name: $ncompile compiles; jobs_completed $before -> $after"
	((after - before >= ncompile)) ||
		fail "$name: daemon completed $((after - before)) jobs for $ncompile compiles"
	assert_same_cache "$name" "$name-d"
	assert_same_file "$T_DIR/$name.plain" "$T_DIR/$name.dist"
	drop_cache "$name"
	drop_cache "$name-d"
}
check_pair trimpath -trimpath
GOOS=windows GOARCH=arm64 check_pair windows-arm64
[[ $(head -c 2 "$T_DIR/windows-arm64.dist") == MZ ]] || fail "windows-arm64.dist is not a PE binary"
GOOS=darwin GOARCH=amd64 check_pair darwin-amd64
grep -q 'asm .*sum_amd64.s' "$T_DIR/darwin-amd64-d/stderr" ||
	fail "darwin/amd64 build did not assemble asmpkg/sum_amd64.s"
stop_daemon
