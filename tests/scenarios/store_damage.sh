#!/usr/bin/env bash
# Damage to a store built from acknowledged writes, at many places: one flipped bit at many
# offsets of the write-ahead log and of the .sst files, the log truncated, CURRENT, MANIFEST
# or OPTIONS deleted. For every case the restarted server either serves every acknowledged
# event or refuses to start naming the damage: never a silent partial store. Then the ways
# back: `nudge store repair` (and what it could not bring back is said) and `nudge store
# restore` from a backup taken while the server ran (every event back).
# Usage: store_damage.sh NUDGE
set -uo pipefail
nudge=$1
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "store_damage: FAIL: $*" >&2
  tail -3 "$work/log" 2>/dev/null | sed 's/^/  server: /' >&2
  exit 1
}
# Starts the server on $1; 0 once it answers, 1 if it exited (its output in $work/log).
start() {
  rm -f "$work/port"
  "$nudge" -q serve -d "$1" -m popularity --port 0 --port-file "$work/port" --threads 1 >"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      wait "$pid" 2>/dev/null
      pid=
      return 1
    fi
    [ -s "$work/port" ] && curl -sf "http://127.0.0.1:$(cat "$work/port")/healthz" >/dev/null && return 0
    sleep 0.05
  done
  fail "the server on $1 neither started nor exited"
}
stop() {
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  pid=
}
url() { echo "http://127.0.0.1:$(cat "$work/port")$1"; }
stored() { curl -s "$(url /healthz)" | grep -o '"events":[0-9]*' | head -1 | cut -d: -f2; }
flip() {  # flip one bit of file $1 at fraction $2 of its length
  python3 - "$1" "$2" <<'EOF'
import sys
path, at = sys.argv[1], float(sys.argv[2])
with open(path, "r+b") as f:
    data = bytearray(f.read())
    i = min(len(data) - 1, int(len(data) * at))
    data[i] ^= 0x08
    f.seek(0)
    f.write(data)
EOF
}

# The store: 200 commits of 50 events, each acknowledged (200) by the server; then kill -9, so
# they live in the write-ahead log. A backup taken while it runs.
start "$work/base" || fail "cannot start on a new directory"
acked=0
for c in $(seq 200); do
  body='{"events":['
  for k in $(seq 0 49); do
    body+="{\"user\":\"u$((k % 40))\",\"item\":\"i$c-$k\"}"
    [ "$k" -lt 49 ] && body+=','
  done
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data-binary "$body]}" "$(url /v1/events)")
  [ "$code" = 200 ] || fail "commit $c: $code"
  acked=$((acked + 50))
  [ "$c" = 100 ] && { "$nudge" -q store backup "$work/base" "$work/backup-half" >/dev/null || fail "backup while serving"; }
done
"$nudge" -q store backup "$work/base" "$work/backup" >/dev/null || fail "backup while serving"
stop
# The same events flushed to tables: what an import, or a long-running server, leaves.
"$nudge" -q store backup "$work/base" "$work/tables" >/dev/null || fail "backup of the stopped store"
"$nudge" store check "$work/backup" | grep -q "events $acked " || fail "the backup does not hold $acked events"
"$nudge" store check "$work/backup-half" | grep -q "events 5000 " || fail "the backup taken at commit 100 does not hold 5000 events"

# kill -9 during a backup: never a DEST that looks whole but is not; the next backup works.
for delay in 0.01 0.03 0.06; do
  rm -rf "$work/killed" "$work/killed.partial"
  "$nudge" -q store backup "$work/base" "$work/killed" >/dev/null 2>&1 &
  backup_pid=$!
  sleep "$delay"
  kill -9 "$backup_pid" 2>/dev/null
  wait "$backup_pid" 2>/dev/null
  if [ -d "$work/killed" ]; then
    "$nudge" store check "$work/killed" | grep -q "events $acked " || fail "a killed backup left an incomplete $work/killed"
  fi
  rm -rf "$work/killed"
  "$nudge" -q store backup "$work/base" "$work/killed" >/dev/null || fail "backup after a killed one"
  "$nudge" store check "$work/killed" | grep -q "events $acked " || fail "the backup after a killed one is incomplete"
done
echo "store_damage: backups killed with -9 at 10, 30 and 60 ms left no incomplete copy; the next backup was whole"

cases=0 served=0 refused=0
# One case: $1 a name, $2 a command damaging the copy in $work/case. The server must serve
# all acknowledged events or refuse, naming the damage; a refused store is then repaired.
try() {
  local name=$1 source=$2
  shift 2
  rm -rf "$work/case" "$work"/case.* "$work"/case/events.*
  cp -r "$source" "$work/case"
  "$@" || fail "$name: could not damage the copy"
  cases=$((cases + 1))
  if start "$work/case"; then
    local n
    n=$(stored)
    stop
    [ "$n" = "$acked" ] || fail "$name: serves $n of $acked acknowledged events, without refusing"
    served=$((served + 1))
    return
  fi
  grep -Eq "damaged|cannot be opened|Corruption|corruption" "$work/log" || fail "$name: refused without naming the damage: $(tail -1 "$work/log")"
  refused=$((refused + 1))
  # The way back from a refusal: repair (which says what it could not bring back), then restore.
  local report
  report=$("$nudge" store repair "$work/case" 2>&1) || {
    repair_failed=$((repair_failed + 1))
    return
  }
  local missing
  missing=$(grep -o 'missing events [0-9]*' <<<"$report" | grep -o '[0-9]*$')
  missing=${missing:-0}
  if start "$work/case"; then
    local n
    n=$(stored)
    stop
    [ $((n + missing)) -ge "$acked" ] || fail "$name: repaired store serves $n and reports $missing missing of $acked"
    repaired=$((repaired + 1))
  else
    repair_failed=$((repair_failed + 1))
  fi
}
repaired=0 repair_failed=0
log_of() { ls "$1"/events/*.log | head -1; }
sst_of() { ls "$1"/events/*.sst | head -1; }
for at in 0.001 0.01 0.05 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 0.95 0.99 0.999; do
  try "log bit at $at" "$work/base" flip "$work/case/events/$(basename "$(log_of "$work/base")")" "$at"
done
for keep in 10 30 60 90 99; do
  try "log cut to $keep%" "$work/base" bash -c "f=\$(ls $work/case/events/*.log | head -1); truncate -s \$((\$(stat -c %s \$f) * $keep / 100)) \$f"
done
for at in 0.001 0.05 0.1 0.2 0.3 0.4 0.5 0.6 0.7 0.8 0.9 0.95 0.99 0.999; do
  try "sst bit at $at" "$work/tables" flip "$work/case/events/$(basename "$(sst_of "$work/tables")")" "$at"
done
try "CURRENT deleted" "$work/base" rm "$work/case/events/CURRENT"
try "MANIFEST deleted" "$work/base" bash -c "rm $work/case/events/MANIFEST-*"
try "OPTIONS deleted" "$work/base" bash -c "rm $work/case/events/OPTIONS-*"
try "CURRENT deleted (tables)" "$work/tables" rm "$work/case/events/CURRENT"
echo "store_damage: $cases cases of $acked acknowledged events: $served served every event, $refused refused naming the damage, none served a partial store; of the refused, repair brought $repaired back to serving (what it could not recover reported), $repair_failed needed the backup"

# Restore: every acknowledged event back, the damaged directory kept aside.
rm -rf "$work/case"
cp -r "$work/base" "$work/case"
flip "$(log_of "$work/case")" 0.5
"$nudge" -q store restore "$work/backup" "$work/case" >/dev/null || fail "restore"
ls -d "$work"/case.before-restore-* >/dev/null 2>&1 || fail "restore did not keep the damaged directory aside"
start "$work/case" || fail "the restored store does not start: $(tail -1 "$work/log")"
n=$(stored)
stop
[ "$n" = "$acked" ] || fail "the restored store serves $n of $acked"
echo "store_damage: restore from the backup taken while serving: $n of $acked events back"
echo "store_damage: PASS"
