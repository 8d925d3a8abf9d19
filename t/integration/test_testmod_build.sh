# The test module (generics, embed, asm, cgo, vendoring): go build -a ./...
# and go build -o app ./cmd/app through godistcc give the same GOCACHE
# outputs and the same binary as plain builds.
need_bins
mod=$(copy_testmod)
cd "$mod"
must_go plain all build -x -a ./...
GOCACHE_REUSE=all must_go plain app build -o "$T_DIR/app.plain" ./cmd/app
start_daemon
before=$(status_field jobs_completed)
must_go dist all-d build -x -a ./...
after=$(status_field jobs_completed)
GOCACHE_REUSE=all-d must_go dist app-d build -o "$T_DIR/app.dist" ./cmd/app
ncompile=$(count_tool all-d compile)
note "compiles: $ncompile; jobs_completed $before -> $after"
((ncompile > 20)) || fail "only $ncompile compiles found in the -x output"
((after - before >= ncompile)) ||
	fail "daemon completed $((after - before)) jobs for a build with $ncompile compiles"
assert_same_cache all all-d
assert_same_file "$T_DIR/app.plain" "$T_DIR/app.dist"
out=$("$T_DIR/app.dist") || fail "the app built through godistcc fails: $out"
grep -q '^asm: 42$' <<<"$out" || fail "the app built through godistcc prints: $out"
grep -q '^cgo(cgo): 3 12$' <<<"$out" || fail "the app was not built with cgo: $out"
stop_daemon
