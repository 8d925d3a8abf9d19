# Toolchain upload: against a daemon with a fresh state directory, the first
# build uploads the compile binary exactly once (and /v1/status lists its
# SHA-256); a second build against the same daemon uploads nothing.
need_bins
# Over HTTP, as to a dispatcher on another host.
export DAEMON_TRANSPORT=http
mod=$(copy_testmod)
cd "$mod"
compile="$("$GO" env GOTOOLDIR)/compile"
sha=$(sha256sum "$compile" | cut -d' ' -f1)
start_daemon
uploads() { grep -cE "toolchain $sha: (stored|already held)" "$DAEMON_LOG" || true; }
all_uploads() { grep -cE "toolchain [0-9a-f]{64}: (stored|already held)" "$DAEMON_LOG" || true; }
[[ $(status_json | jq -r '.toolchains | length') == 0 ]] ||
	fail "a daemon with a fresh state directory lists toolchains: $(status_json | jq -c .toolchains)"
# -p 8: several leaf packages start compiling at once and find the
# toolchain missing together; still only one of them may upload it.
must_go dist first build -p 8 ./...
n1=$(uploads)
note "after the first build: $n1 uploads of compile ($sha), $(all_uploads) toolchain uploads in all"
grep -E 'toolchain [0-9a-f]{64}:' "$DAEMON_LOG" || true
((n1 == 1)) || fail "first build: $n1 uploads of the compile binary logged (want 1)"
status_json | jq -e --arg s "$sha" '.toolchains | index($s) != null' >/dev/null ||
	fail "/v1/status does not list compile's sha256 $sha: $(status_json | jq -c .toolchains)"
all1=$(all_uploads)
before=$(status_field jobs_completed)
must_go dist second build ./...
after=$(status_field jobs_completed)
((after > before)) || fail "second build ran no jobs on the daemon"
all2=$(all_uploads)
((all2 == all1)) || fail "second build uploaded $((all2 - all1)) more toolchains"
stop_daemon
