#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL server: a fresh cluster in a temporary
# folder on a free port, removed afterwards. DATABASE_URL points the command at it.
# Usage: scripts/with-postgres.sh COMMAND...
set -euo pipefail

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$bindir" ]; then
  echo "PostgreSQL is not installed (Debian package: postgresql)" >&2
  exit 1
fi
run_as=()
if [ "$(id -u)" = 0 ]; then
  run_as=(runuser -u postgres --)  # initdb refuses to run as root
fi

dir=$(mktemp -d /tmp/pg-XXXXXX)
chmod 755 "$dir"
[ ${#run_as[@]} -gt 0 ] && chown postgres "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

cleanup() {
  "${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"${run_as[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${run_as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
"${run_as[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres lavie

export DATABASE_URL="postgres://postgres@127.0.0.1:$port/lavie"
# For tests that restart the server on purpose.
export PGDATA_DIR="$dir/data" PG_CTL="$bindir/pg_ctl"
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
"$@"
