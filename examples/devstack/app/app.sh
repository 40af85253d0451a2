#!/bin/sh
# Counts visits in Redis and records each one in PostgreSQL, reaching both by service name.
set -e
psql -q -c "CREATE TABLE IF NOT EXISTS visits (id serial PRIMARY KEY, at timestamptz DEFAULT now())"
while true; do
  hits=$(redis-cli -h "$REDIS_HOST" INCR hits)
  psql -q -c "INSERT INTO visits DEFAULT VALUES"
  rows=$(psql -At -c "SELECT count(*) FROM visits")
  echo "visit $hits recorded; postgres has $rows rows"
  sleep 2
done
