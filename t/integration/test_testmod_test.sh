# go test -cover ./... and go test -race ./... of the test module succeed
# through godistcc, and the test binaries (go test -c) are byte-identical
# to those of plain builds.
need_bins
mod=$(copy_testmod)
cd "$mod"
pkgs=(asmpkg cgopkg cmd/app embedded generics stats)
start_daemon
for mode in cover race; do
	must_go plain "c-$mode" test -c "-$mode" -o "$T_DIR/bin-$mode.plain/" ./...
	before=$(status_field jobs_completed)
	must_go dist "run-$mode" test -x "-$mode" ./...
	after=$(status_field jobs_completed)
	ncompile=$(count_tool "run-$mode" compile)
	note "go test -$mode: $ncompile compiles; jobs_completed $before -> $after"
	for p in "${pkgs[@]}"; do
		grep -qE "^ok[[:space:]]+example.com/testmod/$p[[:space:]]" "$T_DIR/run-$mode/stdout" ||
			fail "go test -$mode through godistcc: no 'ok' line for $p: $(head -c 500 "$T_DIR/run-$mode/stdout")"
	done
	if [[ $mode == cover ]]; then
		n=$(grep -c 'coverage: [0-9.]*% of statements' "$T_DIR/run-$mode/stdout" || true)
		((n == ${#pkgs[@]})) || fail "go test -cover: $n coverage lines, want ${#pkgs[@]}"
	fi
	((after - before >= ncompile)) ||
		fail "go test -$mode: daemon completed $((after - before)) jobs, the build ran $ncompile compiles"
	GOCACHE_REUSE="run-$mode" must_go dist "c-$mode-d" test -c "-$mode" -o "$T_DIR/bin-$mode.dist/" ./...
	assert_same_dir "$T_DIR/bin-$mode.plain" "$T_DIR/bin-$mode.dist"
	# The godistcc cache also holds test results; every plain output must
	# be among its entries.
	assert_cache_subset "c-$mode" "run-$mode"
	drop_cache "c-$mode"
	drop_cache "run-$mode"
done
stop_daemon
