# The CI use: GOFLAGS=-toolexec=godistcc go test ./... in the test module.
need_bins
# Over HTTP, as to a dispatcher on another host.
export DAEMON_TRANSPORT=http
mod=$(copy_testmod)
cd "$mod"
start_daemon
before=$(status_field jobs_completed)
GOFLAGS="-toolexec=$SHIM" must_go plain ci test -x ./...
after=$(status_field jobs_completed)
ncompile=$(count_tool ci compile)
note "compiles: $ncompile; jobs_completed $before -> $after"
grep -q "$SHIM .*/compile " "$T_DIR/ci/stderr" ||
	fail "GOFLAGS=-toolexec did not route compiles through $SHIM"
for p in asmpkg cgopkg cmd/app embedded generics stats; do
	grep -qE "^ok[[:space:]]+example.com/testmod/$p[[:space:]]" "$T_DIR/ci/stdout" ||
		fail "no 'ok' line for $p: $(head -c 500 "$T_DIR/ci/stdout")"
done
((ncompile > 0 && after - before >= ncompile)) ||
	fail "daemon completed $((after - before)) jobs for $ncompile compiles"
stop_daemon
