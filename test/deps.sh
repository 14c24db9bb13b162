#!/usr/bin/env bash
# test/deps.sh: make sure every Debian 12 package pg_cutover needs to build and test is installed.
#
# Installs only what is missing (checked with dpkg-query). As root it runs apt-get itself; as any other
# user it prints the exact apt-get command and exits 1. Never prompts: safe with CI=true and no stdin.
set -euo pipefail

packages=(
	# build, and the format check of the C++ sources
	make g++ pkg-config clang-format
	# extension: server headers, libpq, OpenSSL (-lcrypto)
	postgresql-server-dev-15 libpq-dev libssl-dev
	# server; the client package holds pg_regress and the PostgreSQL::Test modules under pgxs/. On Debian 12,
	# postgres_fdw and the rest of contrib ship in postgresql-15 itself: postgresql-contrib-15 is only a
	# virtual name that postgresql-15 provides, which dpkg-query would never report installed.
	postgresql-15 postgresql-client-15
	# client: HTTPS, JSON, command line, the loopback Stack Auth emulator
	libcurl4-openssl-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
	# unit tests
	libgtest-dev
	# TAP tests (PostgreSQL::Test::Cluster needs IPC::Run; prove and Test::More come with perl)
	perl libipc-run-perl
	# the runner: runuser (util-linux), ps/kill (procps), diff for pg_regress, tar to copy the tree
	util-linux procps diffutils tar coreutils findutils
)

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: no dpkg-query: not a Debian system, so not checking packages; install the equivalents of:" >&2
	echo "  ${packages[*]}" >&2
	exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[[ $status == installed ]] || missing+=("$pkg")
done
# The version matrix (test/pgversions.sh) fetches PostgreSQL 17 and 18 servers with npm: Debian's nodejs and
# npm unless a node and npm are already on PATH (from another source, whose packages Debian's npm would
# conflict with).
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
	missing+=(nodejs npm)
	packages+=(nodejs npm)
fi

if ((${#missing[@]} == 0)); then
	echo "deps.sh: all ${#packages[@]} packages installed"
	exit 0
fi

install_cmd=(apt-get install -y --no-install-recommends
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}")

if ((EUID != 0)); then
	echo "deps.sh: missing packages: ${missing[*]}" >&2
	echo "deps.sh: install them as root with:" >&2
	echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive ${install_cmd[*]}" >&2
	exit 1
fi

echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o Acquire::Retries=3 update </dev/null
apt-get -o Acquire::Retries=3 "${install_cmd[@]:1}" </dev/null
