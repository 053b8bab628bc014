# shellcheck shell=bash
# Redis on loopback for the server-backed tests (sourced by .ci/run).
#
# Installs redis-server from apt when it is missing, starts it on a free
# port without persistence, and exports SKAAL_TEST_REDIS_URL.  The failure
# injection tests start their own private redis-server from the same binary.
#
# By hand (from the repository root):
#     PIDS=(); free_port() { python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
#     wait_port() { sleep 1; }
#     source .ci/services/10-redis.sh      # then: python -m pytest tests/runtime
#     kill "${PIDS[@]}"                     # when done

if ! command -v redis-server >/dev/null 2>&1; then
    echo "== redis: installing redis-server (apt)"
    if ! apt-get install -y -qq redis-server >/dev/null 2>&1; then
        apt-get update -qq >/dev/null
        apt-get install -y -qq redis-server >/dev/null
    fi
fi
REDIS_PORT="$(free_port)"
redis-server --daemonize no --bind 127.0.0.1 --port "$REDIS_PORT" --save '' \
    --appendonly no --logfile "" >"${SERVICES_DIR:-/tmp}/redis-$REDIS_PORT.log" 2>&1 &
PIDS+=("$!")
wait_port "$REDIS_PORT" redis || { tail -n 20 "${SERVICES_DIR:-/tmp}/redis-$REDIS_PORT.log"; return 1; }
export SKAAL_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
echo "== redis: $SKAAL_TEST_REDIS_URL (pid $!)"
