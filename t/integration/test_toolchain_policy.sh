# --toolchains: which toolchains HTTP clients may run and upload.
# - upload with a token: an upload without valid proof of the token is
#   refused (401) and stores nothing.
# - allowlist:FILE listing compile: the build runs on the daemon, identical;
#   a toolchain not listed is refused (403 toolchain_not_allowed), upload
#   and job alike.
# - local: no uploads; a build whose toolchain the daemon lacks is refused
#   with 403 and, with fallback on, built locally, identical.
need_bins
export DAEMON_TRANSPORT=http
mod=$(copy_testmod)
cd "$mod"
compile="$("$GO" env GOTOOLDIR)/compile"
sha=$(sha256sum "$compile" | cut -d' ' -f1)
must_go plain plain build -o "$T_DIR/app.plain/" ./...
(umask 077 && head -c 32 /dev/urandom | base64 >"$T_DIR/token")
(umask 077 && head -c 32 /dev/urandom | base64 >"$T_DIR/wrong-token")
sign() { "$ROOT/t/tools/bin/authsign" "$@"; }

# --- upload: only with the token.
export DAEMON_TOKEN_FILE=$T_DIR/token
start_daemon --token-file "$T_DIR/token"
# put TOKEN_FILE FILE [CURL ARGS...]: PUT FILE as the toolchain named by its
# SHA-256, signed with TOKEN_FILE; the answer's body goes to $PUT_OUT
# (default $T_DIR/put.out). Prints the HTTP status.
put() {
	local token=$1 file=$2 h
	shift 2
	h=$(sha256sum "$file" | cut -d' ' -f1)
	curl -sS -o "${PUT_OUT:-$T_DIR/put.out}" -w '%{http_code}' -X PUT \
		-H 'X-Godistcc-Protocol: 1' -H "X-Godistcc-Auth: $(sign "$token" PUT "/v1/toolchains/$h" "$file")" \
		--data-binary @"$file" "$@" "$DAEMON_URL/v1/toolchains/$h"
}
code=$(put "$T_DIR/wrong-token" "$compile")
[[ $code == 401 ]] && jq -e '.error == "auth_bad_mac"' "$T_DIR/put.out" >/dev/null ||
	fail "upload with a wrong token: $code $(cat "$T_DIR/put.out")"
[[ $(status_json | jq '.toolchains | length') == 0 ]] ||
	fail "a refused upload was stored: $(status_json | jq -c .toolchains)"
code=$(put "$T_DIR/token" "$compile")
[[ $code == 201 ]] || fail "upload with the token: $code $(cat "$T_DIR/put.out")"
status_json | jq -e --arg s "$sha" '.toolchains | index($s) != null' >/dev/null ||
	fail "the upload with the token was not stored"
# TOOLCHAIN_UPLOADS_MAX (8) slow uploads in progress: a ninth is refused.
slow=()
for i in 1 2 3 4 5 6 7 8; do
	head -c 4000000 /dev/urandom >"$T_DIR/up$i"
	PUT_OUT=/dev/null put "$T_DIR/token" "$T_DIR/up$i" --limit-rate 100k >/dev/null 2>&1 &
	slow+=($!)
done
head -c 4000000 /dev/urandom >"$T_DIR/up9"
sleep 2
code=$(put "$T_DIR/token" "$T_DIR/up9")
kill "${slow[@]}" 2>/dev/null || true
wait "${slow[@]}" 2>/dev/null || true
[[ $code == 503 ]] && jq -e '.error == "too_many_uploads"' "$T_DIR/put.out" >/dev/null ||
	fail "a ninth upload at once: $code $(cat "$T_DIR/put.out")"
note "ninth upload at once: $code $(jq -r .message "$T_DIR/put.out")"
stop_daemon

# --- allowlist: compile listed (with a comment and a blank line), asm not.
printf '# compile of %s\n%s\n\n' "$("$GO" env GOVERSION)" "$sha" >"$T_DIR/allow"
start_daemon --token-file "$T_DIR/token" --toolchains "allowlist:$T_DIR/allow"
before=$(status_field jobs_completed)
GODISTCC_FALLBACK=0 GODISTCC_TOKEN_FILE=$T_DIR/token \
	must_go dist allowed build -o "$T_DIR/app.allowed/" ./...
after=$(status_field jobs_completed)
((after - before >= 10)) || fail "allowlisted compile: only $((after - before)) jobs ran on the daemon"
assert_same_cache plain allowed
assert_same_dir "$T_DIR/app.plain" "$T_DIR/app.allowed"
asm="$("$GO" env GOTOOLDIR)/asm"
code=$(put "$T_DIR/token" "$asm")
[[ $code == 403 ]] && jq -e '.error == "toolchain_not_allowed"' "$T_DIR/put.out" >/dev/null ||
	fail "upload of a toolchain not on the allowlist: $code $(cat "$T_DIR/put.out")"
# asm jobs themselves (GODISTCC_ASM=remote) are refused, and run locally.
rm -rf "$T_DIR/shimcache"
GODISTCC_ASM=remote GODISTCC_FALLBACK=1 GODISTCC_TOKEN_FILE=$T_DIR/token \
	must_go dist asm-refused build -o "$T_DIR/app.asm-refused/" ./...
grep -q 'POST /v1/job: 403 toolchain_not_allowed' "$DAEMON_LOG" ||
	fail "no asm job was refused with 403 toolchain_not_allowed"
assert_same_cache plain asm-refused
stop_daemon

# --- local: nothing is uploaded; the daemon's fresh store holds nothing.
start_daemon --token-file "$T_DIR/token" --toolchains local
rc=0
GODISTCC_FALLBACK=0 GODISTCC_TOKEN_FILE=$T_DIR/token \
	run_go dist local-off build -o "$T_DIR/app.local-off/" ./... || rc=$?
((rc != 0)) || fail "--toolchains local ran a toolchain it does not hold"
grep -q 'godistcc: error:.*403 toolchain_not_allowed' "$T_DIR/local-off/stderr" ||
	fail "no error naming 403 toolchain_not_allowed: $(grep -m2 godistcc "$T_DIR/local-off/stderr")"
GODISTCC_FALLBACK=1 GODISTCC_TOKEN_FILE=$T_DIR/token \
	must_go dist local-on build -o "$T_DIR/app.local-on/" ./...
assert_same_cache plain local-on
assert_same_dir "$T_DIR/app.plain" "$T_DIR/app.local-on"
[[ $(status_json | jq '.toolchains | length') == 0 ]] ||
	fail "--toolchains local stored an upload: $(status_json | jq -c .toolchains)"
grep -q 'PUT /v1/toolchains' "$DAEMON_LOG" && ! grep -q 'PUT /v1/toolchains.*: 403' "$DAEMON_LOG" &&
	fail "an upload reached --toolchains local without a 403"
stop_daemon
