#!/usr/bin/env bash
# Installs what godistcc needs to build and test, on Debian or Ubuntu, with
# apt-get. Skips apt entirely when everything is already installed; used by
# contrib/quickstart.sh and .ci/run.
set -euo pipefail

pkgs=(build-essential pkg-config libcurl4-openssl-dev libjansson-dev libzstd-dev
      libarchive-dev libmicrohttpd-dev libssl-dev libcriterion-dev curl jq iproute2
      hyperfine clang libclang-rt-14-dev openssl zstd strace time)

# Wanted where the distribution has them (apt-cache knows them): Debian 12's
# Go 1.19 in /usr/lib/go-1.19, the second toolchain of
# t/integration/test_cluster.sh (it does not put a go command on PATH).
optional=(golang-1.19-go)

installed() {
    # dpkg -s succeeds for removed-but-configured packages too; require the
    # "install ok installed" state.
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true) == "install ok installed" ]]
}
missing=()
for p in "${pkgs[@]}"; do
    installed "$p" || missing+=("$p")
done
for p in "${optional[@]}"; do
    if ! installed "$p" && apt-cache show "$p" >/dev/null 2>&1; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
