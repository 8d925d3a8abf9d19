# go build -a std with GODISTCC_ASM=remote: asm jobs go to the daemon as
# well, and every archive is still byte-identical to a plain build's.
need_bins
# Over HTTP, as to a dispatcher on another host.
export DAEMON_TRANSPORT=http
ref=$(plain_reference std-a build -x -a std)
start_daemon
before=$(status_field jobs_completed)
GODISTCC_ASM=remote must_go dist std-asm build -x -a std
after=$(status_field jobs_completed)
ncompile=$(count_tool std-asm compile)
nasm=$(count_tool std-asm asm)
note "compiles: $ncompile, asm runs: $nasm ($(grep -c -- '-gensymabis' "$T_DIR/std-asm/stderr" || true) of them -gensymabis); jobs_completed $before -> $after"
((nasm > 0)) || fail "no asm runs found in the -x output of go build -a std"
((after - before >= ncompile + nasm)) ||
	fail "daemon completed $((after - before)) jobs for a build with $ncompile compiles and $nasm asm runs (GODISTCC_ASM=remote)"
[[ $(status_field jobs_local) == 0 ]] ||
	fail "with GODISTCC_DISPATCHER=$GODISTCC_DISPATCHER, $(status_field jobs_local) jobs came through the local socket"
assert_same_cache "$ref" std-asm
[[ $(status_field jobs_failed) == 0 ]] || fail "daemon reports $(status_field jobs_failed) failed jobs"
stop_daemon
