#!/usr/bin/env bash
# A real full disk under load: `nudge serve` on a small tmpfs, 20-event batches posted until
# the disk fills, then space given back (a remount), then kill -9 and a restart.
#   1. no crash: every request is answered; a write the disk refuses is a 507 with a JSON error;
#   2. while full: /healthz says "degraded", reads (recommend, a user's history) are served;
#   3. writes resume by themselves once space returns;
#   4. after kill -9 and a restart the store holds exactly the acknowledged events.
# Needs root for the mount; without it the scenario is skipped (exit 77).
# Usage: full_disk.sh NUDGE [SIZE]
set -uo pipefail
nudge=$1
size=${2:-2m}
work=$(mktemp -d)
disk=$work/disk
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  wait 2>/dev/null
  umount "$disk" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "full_disk: FAIL: $*" >&2
  tail -5 "$work/log" 2>/dev/null | sed 's/^/  server: /' >&2
  exit 1
}
mkdir -p "$disk"
if ! mount -t tmpfs -o "size=$size" tmpfs "$disk" 2>/dev/null; then
  echo "full_disk: SKIP: cannot mount a tmpfs here (needs root)"
  exit 77
fi
start() {
  rm -f "$work/port"
  "$nudge" serve -d "$disk/d" --port 0 --port-file "$work/port" --threads 2 >>"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do
    [ -s "$work/port" ] && curl -sf "http://127.0.0.1:$(cat "$work/port")/healthz" >/dev/null && return 0
    sleep 0.05
  done
  fail "the server did not start"
}
url() { echo "http://127.0.0.1:$(cat "$work/port")$1"; }
# A 20-event batch of 5 users; @B@ becomes the batch number, so every item is new.
template='{"events":['
for k in $(seq 0 19); do
  template+="{\"user\":\"u$((k % 5))\",\"item\":\"b@B@-$k\",\"type\":\"view\"}"
  [ "$k" -lt 19 ] && template+=','
done
template+=']}'
batch() { echo "${template//@B@/$1}"; }
post() {  # prints the status code of posting batch $1
  curl -s -o "$work/answer" -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary "$(batch "$1")" \
    "$(url /v1/events)"
}

start
acked=0 refused=0 b=0
while [ "$refused" -lt 20 ] && [ "$b" -lt 5000 ]; do
  b=$((b + 1))
  code=$(post "$b")
  case "$code" in
    200) [ "$refused" -eq 0 ] || fail "batch $b acknowledged after the disk filled, before space returned"
         acked=$((acked + 20)) ;;
    507) refused=$((refused + 1))
         grep -q '"error":".*not taking writes' "$work/answer" || fail "507 without the store's error: $(cat "$work/answer")" ;;
    *) fail "batch $b: status $code ($(cat "$work/answer" 2>/dev/null)); server alive: $(kill -0 $pid 2>/dev/null && echo yes || echo no)" ;;
  esac
done
[ "$refused" -eq 20 ] || fail "the disk never filled ($b batches)"
echo "full_disk: $acked events acknowledged in $((b - 20)) batches before the $size disk filled; 20 batches refused with 507"
health=$(curl -s "$(url /healthz)")
grep -q '"status":"degraded"' <<<"$health" || fail "healthz while full: $health"
grep -q '"writable":false' <<<"$health" || fail "healthz while full: $health"
code=$(curl -s -o "$work/answer" -w '%{http_code}' "$(url /v1/users/u1)")
[ "$code" = 200 ] || fail "GET /v1/users/u1 while full: $code"
code=$(curl -s -o "$work/answer" -w '%{http_code}' "$(url '/v1/recommend?user=u1&k=5')")
[ "$code" = 200 ] || fail "GET /v1/recommend while full: $code $(cat "$work/answer")"

mount -o remount,size=64m "$disk" || fail "cannot give space back"
for _ in $(seq 200); do
  curl -s "$(url /healthz)" | grep -q '"status":"ok"' && break
  sleep 0.05
done
curl -s "$(url /healthz)" | grep -q '"status":"ok"' || fail "writes did not resume: $(curl -s "$(url /healthz)")"
for _ in $(seq 10); do
  b=$((b + 1))
  code=$(post "$b")
  [ "$code" = 200 ] || fail "batch $b after space returned: $code $(cat "$work/answer")"
  acked=$((acked + 20))
done
echo "full_disk: writes resumed by themselves once space returned"

kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=
start
stored=$(curl -s "$(url /healthz)" | grep -o '"events":[0-9]*' | head -1 | cut -d: -f2)
[ "$stored" = "$acked" ] || fail "after kill -9 and a restart the store holds $stored events, $acked were acknowledged"
echo "full_disk: after kill -9 and a restart: $stored stored = $acked acknowledged, none lost or added"
echo "full_disk: PASS"
