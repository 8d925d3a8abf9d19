# A dispatcher that serves HTTPS and has a token: a build through it with
# the CA and the token is byte-identical to a plain build, and its jobs ran
# there; with a wrong token the build cannot reach it and, with fallback
# on, finishes locally (identical, one warning, no job run), and with
# GODISTCC_FALLBACK=0 it fails naming the refusal. Without the CA the
# server's certificate is refused; plain HTTP to the HTTPS port gets no
# answer; and dispatchd refuses a non-loopback address without a token.
need_bins
command -v openssl >/dev/null || fail "prerequisite: openssl is not installed"
mod=$(copy_testmod)
cd "$mod"

# A CA and a certificate for 127.0.0.1 signed by it.
pki=$T_DIR/pki
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=godistcc test CA" \
	-keyout "$pki/ca.key" -out "$pki/ca.pem" 2>"$pki/log" ||
	fail "openssl: cannot make the CA: $(cat "$pki/log")"
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$pki/server.key" \
	-out "$pki/server.csr" 2>>"$pki/log" || fail "openssl: cannot make the CSR"
printf 'subjectAltName=IP:127.0.0.1\n' >"$pki/ext"
openssl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" \
	-CAcreateserial -days 2 -extfile "$pki/ext" -out "$pki/server.pem" 2>>"$pki/log" ||
	fail "openssl: cannot sign the server certificate: $(cat "$pki/log")"
(umask 077 && head -c 32 /dev/urandom | base64 >"$T_DIR/token")
(umask 077 && head -c 32 /dev/urandom | base64 >"$T_DIR/wrong-token")

# Without a token, an address other machines reach is refused outright.
rc=0
"$DISPATCHD" --listen 0.0.0.0:0 --state-dir "$T_DIR/refused.state" --socket none \
	>"$T_DIR/refused.out" 2>&1 || rc=$?
((rc != 0)) || fail "dispatchd --listen 0.0.0.0:0 without --token-file started"
grep -q -- '--insecure-no-token' "$T_DIR/refused.out" ||
	fail "the refusal does not name --insecure-no-token: $(cat "$T_DIR/refused.out")"
note "refused: $(head -c 200 "$T_DIR/refused.out")"

export DAEMON_TRANSPORT=http DAEMON_SCHEME=https DAEMON_CACERT=$pki/ca.pem
export DAEMON_TOKEN_FILE=$T_DIR/token
start_daemon --tls-cert "$pki/server.pem" --tls-key "$pki/server.key" --token-file "$T_DIR/token"
[[ $GODISTCC_DISPATCHER == https://127.0.0.1:* ]] ||
	fail "the daemon's URL is not https: $GODISTCC_DISPATCHER"

# Plain HTTP to the HTTPS port gets no HTTP answer; the health check over
# HTTPS needs no token, everything else does.
! curl -fsS --max-time 5 "http://127.0.0.1:$DAEMON_PORT/v1/health" >/dev/null 2>&1 ||
	fail "plain HTTP got an answer from the HTTPS port"
code=$(curl -sS --cacert "$pki/ca.pem" -o "$T_DIR/nostatus" -w '%{http_code}' \
	"$DAEMON_URL/v1/status")
[[ $code == 401 ]] && jq -e '.error == "auth_missing"' "$T_DIR/nostatus" >/dev/null ||
	fail "GET /v1/status without a token: $code $(cat "$T_DIR/nostatus")"

must_go plain plain build -o "$T_DIR/app.plain/" ./...
before=$(status_field jobs_completed)
GODISTCC_FALLBACK=0 GODISTCC_TOKEN_FILE=$T_DIR/token GODISTCC_CA_FILE=$pki/ca.pem \
	must_go dist tls build -o "$T_DIR/app.tls/" ./...
after=$(status_field jobs_completed)
note "over HTTPS with the token: $((after - before)) jobs ran on the daemon"
((after - before >= 10)) || fail "only $((after - before)) jobs ran on the daemon over HTTPS"
assert_same_cache plain tls
assert_same_dir "$T_DIR/app.plain" "$T_DIR/app.tls"
drop_cache tls

# A wrong token: refused (401), so with fallback on everything runs
# locally, after one warning, and nothing ran on the daemon.
denied_before=$(grep -c '401 auth_bad_mac' "$DAEMON_LOG" || true)
before=$(status_field jobs_completed)
GODISTCC_FALLBACK=1 GODISTCC_TOKEN_FILE=$T_DIR/wrong-token GODISTCC_CA_FILE=$pki/ca.pem \
	must_go dist wrong build -o "$T_DIR/app.wrong/" ./...
after=$(status_field jobs_completed)
denied=$(($(grep -c '401 auth_bad_mac' "$DAEMON_LOG" || true) - denied_before))
((after == before)) || fail "a wrong token ran $((after - before)) jobs on the daemon"
((denied > 0)) || fail "the daemon logged no 401 auth_bad_mac for the wrong token"
nwarn=$(grep -c '^godistcc: warning:' "$T_DIR/wrong/stderr" || true)
((nwarn == 1)) || fail "wrong token, fallback on: $nwarn warnings (want 1): $(head -n 5 "$T_DIR/wrong/stderr")"
grep -q 'auth_bad_mac' "$T_DIR/wrong/stderr" ||
	fail "the warning does not say why: $(grep -m1 'godistcc: warning' "$T_DIR/wrong/stderr")"
note "wrong token: $denied requests refused; $(grep -m1 '^godistcc: warning:' "$T_DIR/wrong/stderr")"
assert_same_cache plain wrong
assert_same_dir "$T_DIR/app.plain" "$T_DIR/app.wrong"
drop_cache wrong

# The same with fallback off fails, naming the refusal.
rc=0
GODISTCC_FALLBACK=0 GODISTCC_TOKEN_FILE=$T_DIR/wrong-token GODISTCC_CA_FILE=$pki/ca.pem \
	run_go dist wrong-off build -o "$T_DIR/app.wrong-off/" ./... || rc=$?
((rc != 0)) || fail "a wrong token with GODISTCC_FALLBACK=0 built"
grep -q 'godistcc: error:.*401 auth_bad_mac' "$T_DIR/wrong-off/stderr" ||
	fail "no error naming 401 auth_bad_mac: $(grep -m2 godistcc "$T_DIR/wrong-off/stderr")"

# No CA file: curl checks the server against the system's store, which
# does not know the test CA.
rc=0
GODISTCC_FALLBACK=0 GODISTCC_TOKEN_FILE=$T_DIR/token \
	run_go dist noca build -o "$T_DIR/app.noca/" ./... || rc=$?
((rc != 0)) || fail "a build trusted the test certificate without GODISTCC_CA_FILE"
grep -qiE 'godistcc: error:.*(certificate|SSL)' "$T_DIR/noca/stderr" ||
	fail "no error naming the certificate: $(grep -m2 godistcc "$T_DIR/noca/stderr")"
note "without the CA: $(grep -m1 'godistcc: error:' "$T_DIR/noca/stderr")"
stop_daemon
