#!/usr/bin/env bash
# Load run against a real release server: requests/s for GET /healthz (baseline),
# GET /secrets/{id} and POST /secrets, with wrk on 2 threads and 16 connections.
#
# Usage: bash benches/load.sh
# Overrides: DURATION (10s), THREADS (2), CONNECTIONS (16), VALUE_BYTES (1024, the size of
# the secret value read by the GET run and written by each POST).
#
# wrk and the server share the same machine, so on a small host the numbers include wrk's
# own CPU use; they compare endpoints with each other, not with another host.
set -euo pipefail

DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
# Exported for benches/post_secret.lua.
export VALUE_BYTES=${VALUE_BYTES:-1024}

if ! command -v wrk >/dev/null 2>&1; then
    echo "error: wrk is not installed; on Debian/Ubuntu: apt-get install -y wrk" >&2
    exit 1
fi
if ! command -v curl >/dev/null 2>&1; then
    echo "error: curl is not installed; on Debian/Ubuntu: apt-get install -y curl" >&2
    exit 1
fi

cd "$(dirname "$0")/.."
# test-hooks: the hidden test-only --insecure-fast-kdf below is refused by normal builds.
cargo build --release --features test-hooks

workdir=$(mktemp -d)
server_pid=
server_log="$workdir/server.log"

cleanup() {
    local status=$?
    if [[ -n $server_pid ]]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [[ $status -ne 0 && -s $server_log ]]; then
        echo "--- last lines of the server log ---" >&2
        tail -n 20 "$server_log" >&2
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The server announces its port on the first stdout line; read it through a FIFO instead of
# sleeping and polling. Every request is logged to stderr, which goes to a file so the
# terminal only shows the results.
mkfifo "$workdir/stdout"
# --insecure-fast-kdf is a hidden, test-only flag: it makes /register and /login cheap so
# setup is quick. It does not touch the endpoints measured below (bearer tokens are checked
# with SHA-256, not scrypt); never use it for real accounts. wrk is one client address, so
# the per-address rate limit is turned off: this measures the server, not the limiter.
target/release/secretctl serve --addr 127.0.0.1:0 --data-dir "$workdir/data" \
    --insecure-fast-kdf --rate-limit 0 --auth-rate-limit 0 >"$workdir/stdout" 2>"$server_log" &
server_pid=$!
# Keep the read end open for the server's lifetime so later stdout writes cannot hit EPIPE.
exec 3<"$workdir/stdout"
if ! read -r -t 30 -u 3 first_line; then
    echo "error: the server did not print its address" >&2
    exit 1
fi
url=${first_line#listening on }
if [[ $url != http://* ]]; then
    echo "error: unexpected first line from the server: $first_line" >&2
    exit 1
fi

# Extracts a string field from a flat JSON object (enough for these responses; no jq needed).
json_field() {
    sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"
}

credentials='{"username":"bench","password":"bench-password-123"}'
curl -fsS -X POST "$url/register" -H 'Content-Type: application/json' \
    -d "$credentials" >/dev/null
token=$(curl -fsS -X POST "$url/login" -H 'Content-Type: application/json' \
    -d "$credentials" | json_field token)
[[ -n $token ]] || { echo "error: login returned no token" >&2; exit 1; }
auth="Authorization: Bearer $token"

value=$(head -c "$VALUE_BYTES" /dev/zero | tr '\0' x)
id=$(curl -fsS -X POST "$url/secrets" -H "$auth" -H 'Content-Type: application/json' \
    -d "{\"name\":\"bench\",\"value\":\"$value\"}" | json_field id)
[[ -n $id ]] || { echo "error: creating the secret returned no id" >&2; exit 1; }

declare -A rps p50
order=()

# Runs wrk, shows its report, records requests/s, and fails on any error response.
run() {
    local label=$1
    shift
    echo
    echo "=== $label ==="
    local report
    report=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$@")
    echo "$report"
    if grep -q 'Non-2xx or 3xx responses' <<<"$report"; then
        echo "error: $label got error responses; see $server_log" >&2
        exit 1
    fi
    rps[$label]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$report")
    p50[$label]=$(awk '$1 == "50%" {print $2}' <<<"$report")
    order+=("$label")
}

run "GET /healthz" "$url/healthz"
run "GET /secrets/{id}" -H "$auth" "$url/secrets/$id"
run "POST /secrets" -H "$auth" -H 'Content-Type: application/json' \
    -s benches/post_secret.lua "$url/secrets"

echo
echo "=== summary: wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $VALUE_BYTES-byte values ==="
printf '%-20s %12s %12s\n' "endpoint" "req/s" "p50 latency"
for label in "${order[@]}"; do
    printf '%-20s %12s %12s\n' "$label" "${rps[$label]}" "${p50[$label]}"
    # A median stuck near 40 ms is Linux's delayed-ACK timer, not server work: a response
    # written in two pieces on a socket without TCP_NODELAY waits for the client's ACK.
    if [[ ${p50[$label]} =~ ^4[0-9](\.[0-9]+)?ms$ ]]; then
        echo "  note: p50 ~40 ms on $label suggests Nagle + delayed ACK (no TCP_NODELAY)" >&2
    fi
done
