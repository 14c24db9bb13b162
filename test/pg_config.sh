# test/pg_config.sh: sourced by the test, demo and benchmark scripts. Sets and exports PG_CONFIG: the caller's,
# else PostgreSQL 15's (on a fresh machine just installed by test/deps.sh), not whichever server-dev version
# /usr/bin/pg_config would pick.
if [ -z "${PG_CONFIG:-}" ]; then
	if [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
		PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	else
		PG_CONFIG=pg_config
	fi
fi
export PG_CONFIG
