# shellcheck shell=bash
# Google Cloud emulators on loopback for the firestore and gcs tests (sourced by .ci/run).
#
# Firestore: Google's own emulator (the google-cloud-cli-firestore-emulator
# package: a JAR run with the system Java), started directly with java so its
# PID is the server's.  It has real transactions and update-time
# preconditions, which the compare-and-set tests rely on.  When the package
# is not on the machine it is installed from apt if a source offers it;
# otherwise SKAAL_TEST_FIRESTORE_EMULATOR_HOST stays unset and the firestore
# tests skip, saying so.
# Pub/Sub: Google's emulator likewise (google-cloud-cli-pubsub-emulator).
# Cloud Storage: the gcp-storage-emulator package from PyPI, in memory.
# Exports SKAAL_TEST_FIRESTORE_EMULATOR_HOST, SKAAL_TEST_PUBSUB_EMULATOR_HOST and
# SKAAL_TEST_STORAGE_EMULATOR_HOST.
#
# By hand (from the repository root, in the virtual environment):
#     PIDS=(); SERVICES_DIR=$(mktemp -d)
#     free_port() { python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
#     wait_port() { sleep 6; }
#     source .ci/services/40-gcp.sh   # then: python -m pytest tests/runtime -k "firestore or gcs or pubsub"
#     kill "${PIDS[@]}"                # when done

gcp_firestore_jar() {
    local root
    for root in /usr/lib/google-cloud-sdk /usr/share/google-cloud-sdk \
        "$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null)"; do
        if [ -n "$root" ] && [ -f "$root/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar" ]; then
            echo "$root/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar"
            return 0
        fi
    done
    return 1
}

GCP_WAIT=()

# -- Firestore -------------------------------------------------------------------
GCP_FIRESTORE_JAR="$(gcp_firestore_jar || true)"
if [ -z "$GCP_FIRESTORE_JAR" ]; then
    echo "== gcp: installing the Firestore emulator (apt)"
    apt-get install -y -qq google-cloud-cli-firestore-emulator >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 \
            && apt-get install -y -qq google-cloud-cli-firestore-emulator >/dev/null 2>&1; } \
        || true
    GCP_FIRESTORE_JAR="$(gcp_firestore_jar || true)"
fi
if [ -n "$GCP_FIRESTORE_JAR" ] && command -v java >/dev/null 2>&1; then
    FIRESTORE_PORT="$(free_port)"
    java -Xmx512m -Duser.language=en -cp "$GCP_FIRESTORE_JAR" \
        com.google.cloud.datastore.emulator.firestore.CloudFirestore start \
        --host=127.0.0.1 --port="$FIRESTORE_PORT" \
        >"${SERVICES_DIR:-/tmp}/firestore-$FIRESTORE_PORT.log" 2>&1 &
    PIDS+=("$!")
    GCP_WAIT+=("$FIRESTORE_PORT firestore-emulator")
    export SKAAL_TEST_FIRESTORE_EMULATOR_HOST="127.0.0.1:$FIRESTORE_PORT"
    echo "== gcp: Firestore emulator at $SKAAL_TEST_FIRESTORE_EMULATOR_HOST (pid $!)"
else
    echo "== gcp: WARNING no Firestore emulator (google-cloud-cli-firestore-emulator and java);" \
        "the firestore tests will skip"
fi

# -- Pub/Sub -------------------------------------------------------------------------
# Google's emulator (google-cloud-cli-pubsub-emulator); its launcher execs java,
# so the PID recorded is the server's.
GCP_PUBSUB_BIN=""
for gcp_root in /usr/lib/google-cloud-sdk /usr/share/google-cloud-sdk \
    "$(gcloud info --format='value(installation.sdk_root)' 2>/dev/null)"; do
    if [ -n "$gcp_root" ] && [ -x "$gcp_root/platform/pubsub-emulator/bin/cloud-pubsub-emulator" ]; then
        GCP_PUBSUB_BIN="$gcp_root/platform/pubsub-emulator/bin/cloud-pubsub-emulator"
        break
    fi
done
if [ -n "$GCP_PUBSUB_BIN" ] && command -v java >/dev/null 2>&1; then
    PUBSUB_PORT="$(free_port)"
    JAVA_OPTS="-Xmx256m" "$GCP_PUBSUB_BIN" --host=127.0.0.1 --port="$PUBSUB_PORT" \
        >"${SERVICES_DIR:-/tmp}/pubsub-$PUBSUB_PORT.log" 2>&1 &
    PIDS+=("$!")
    GCP_WAIT+=("$PUBSUB_PORT pubsub-emulator")
    export SKAAL_TEST_PUBSUB_EMULATOR_HOST="127.0.0.1:$PUBSUB_PORT"
    echo "== gcp: Pub/Sub emulator at $SKAAL_TEST_PUBSUB_EMULATOR_HOST (pid $!)"
else
    echo "== gcp: WARNING no Pub/Sub emulator (google-cloud-cli-pubsub-emulator and java);" \
        "the pubsub tests will skip"
fi

# -- Cloud Storage ---------------------------------------------------------------
if ! python -c "import gcp_storage_emulator" >/dev/null 2>&1; then
    echo "== gcp: installing gcp-storage-emulator (pip)"
    python -m pip install --quiet gcp-storage-emulator
fi
GCS_PORT="$(free_port)"
python -m gcp_storage_emulator start --host=127.0.0.1 --port="$GCS_PORT" --in-memory \
    >"${SERVICES_DIR:-/tmp}/gcs-$GCS_PORT.log" 2>&1 &
PIDS+=("$!")
GCP_WAIT+=("$GCS_PORT gcp-storage-emulator")
export SKAAL_TEST_STORAGE_EMULATOR_HOST="http://127.0.0.1:$GCS_PORT"
echo "== gcp: Cloud Storage emulator at $SKAAL_TEST_STORAGE_EMULATOR_HOST (pid $!)"

# -- all three start in parallel; wait for each ------------------------------------
for gcp_entry in "${GCP_WAIT[@]}"; do
    # shellcheck disable=SC2086
    wait_port $gcp_entry
done
