# The test module with GODISTCC_ASM=remote (its own asm including go_asm.h,
# and the runtime's): identical GOCACHE outputs and binary.
need_bins
# Over HTTP, as to a dispatcher on another host.
export DAEMON_TRANSPORT=http
mod=$(copy_testmod)
cd "$mod"
export GODISTCC_ASM=remote
must_go plain all build -x -a ./...
GOCACHE_REUSE=all must_go plain app build -o "$T_DIR/app.plain" ./cmd/app
start_daemon
before=$(status_field jobs_completed)
must_go dist all-d build -x -a ./...
after=$(status_field jobs_completed)
GOCACHE_REUSE=all-d must_go dist app-d build -o "$T_DIR/app.dist" ./cmd/app
ncompile=$(count_tool all-d compile)
nasm=$(count_tool all-d asm)
note "compiles: $ncompile, asm runs: $nasm; jobs_completed $before -> $after"
grep -q 'asm .*-o [^ ]*sum_amd64.o' "$T_DIR/all-d/stderr" ||
	fail "no asm run for testmod's asmpkg/sum_amd64.s in the -x output"
((after - before >= ncompile + nasm)) ||
	fail "daemon completed $((after - before)) jobs for $ncompile compiles and $nasm asm runs"
assert_same_cache all all-d
assert_same_file "$T_DIR/app.plain" "$T_DIR/app.dist"
stop_daemon
