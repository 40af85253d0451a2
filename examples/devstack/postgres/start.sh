#!/bin/sh
# First start on an empty volume: create the cluster (trust auth: a local development database).
set -e
BIN=$(ls -d /usr/lib/postgresql/*/bin | tail -1)
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  "$BIN/initdb" -D "$PGDATA" -U postgres --auth=trust >/dev/null
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all 0.0.0.0/0 trust" >> "$PGDATA/pg_hba.conf"
fi
mkdir -p /var/run/postgresql
exec "$BIN/postgres" -D "$PGDATA" -k /var/run/postgresql
