# shellcheck shell=bash
# moto's server mode on loopback: DynamoDB, S3 and SQS for the AWS backend tests
# (sourced by .ci/run).
#
# Installs `moto[server]` into the active environment when it is missing,
# starts `moto_server` on a free port, and exports SKAAL_TEST_AWS_ENDPOINT_URL
# plus dummy credentials and a region (moto accepts any credentials).
#
# By hand (from the repository root, with your virtual environment active):
#     PIDS=(); free_port() { python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
#     wait_port() { sleep 2; }
#     source .ci/services/30-moto.sh       # then: python -m pytest tests/runtime
#     kill "${PIDS[@]}"                     # when done

command -v moto_server >/dev/null 2>&1 || python -m pip install --quiet 'moto[server]'
MOTO_PORT="$(free_port)"
moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"${SERVICES_DIR:-/tmp}/moto-$MOTO_PORT.log" 2>&1 &
MOTO_PID="$!"
PIDS+=("$MOTO_PID")
wait_port "$MOTO_PORT" moto_server
export SKAAL_TEST_AWS_ENDPOINT_URL="http://127.0.0.1:$MOTO_PORT"
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_DEFAULT_REGION=us-east-1
echo "== moto: $SKAAL_TEST_AWS_ENDPOINT_URL (pid $MOTO_PID)"
