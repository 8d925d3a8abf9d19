#!/usr/bin/env bash
# End to end on a fresh machine: install what is missing, build godistcc and
# dispatchd, start a local dispatchd, build a real Go program (the go command
# itself, cmd/go) through it with a cold cache, check the result is
# byte-identical to a plain build, and show the daemon's status.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "quickstart: Go is not installed (need go1.21 or newer)" >&2; exit 1; }

contrib/deps.sh
make -s

work=$(mktemp -d)
daemon=
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

bin/dispatchd --listen 127.0.0.1:0 --port-file "$work/port" --socket "$work/sock" \
    --state-dir "$work/state" 2>"$work/dispatchd.log" &
daemon=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { cat "$work/dispatchd.log" >&2; exit 1; }
url="http://127.0.0.1:$(cat "$work/port")"
echo "quickstart: dispatchd listening on $url and $work/sock"

# The shim reaches a dispatchd of the same user on the same host through its
# socket (with a daemon on the default socket, GODISTCC_DISPATCHER is not
# needed at all).
export GODISTCC_DISPATCHER="unix:$work/sock" GODISTCC_CACHE_DIR="$work/cache" GOFLAGS= GOTOOLCHAIN=local
echo "quickstart: building cmd/go through godistcc (cold cache)..."
GOCACHE="$work/gc-remote" GODISTCC_FALLBACK=0 \
    go build -toolexec="$top/bin/godistcc" -o "$work/go-remote" cmd/go
echo "quickstart: building cmd/go plainly (cold cache)..."
GOCACHE="$work/gc-plain" go build -o "$work/go-plain" cmd/go
if cmp -s "$work/go-remote" "$work/go-plain"; then
    echo "quickstart: the two binaries are byte-identical"
else
    echo "quickstart: FAIL: the binaries differ" >&2
    exit 1
fi
echo "quickstart: dispatchd status:"
curl -s "$url/v1/status" | jq .
