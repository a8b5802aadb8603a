#!/usr/bin/env bash
# A scaled-out deployment on loopback, every part a separate process: a Kafka cluster
# (librdkafka's mock, hosted by kafka_mock), Redis (Debian's redis-server), two trainers and
# three serving replicas of `nudge serve`.
#   1. the 6 partitions are split between the serving replicas, none twice;
#   2. every produced event is stored exactly once, by the replica owning its user's partition
#      (figure: events/s from the first produced message to the last one stored);
#   3. one trainer leads; a model it trains reaches every process (figure: retrain-to-all time);
#   4. kill -9 of a serving replica: the survivors take its partitions and replay them, so its
#      users' histories are served again, nothing lost or counted twice (figure: failover time);
#      checked per user: the eager assignor may move survivors' partitions too, leaving stale
#      copies behind, so stored totals no longer add up to the events produced;
#   5. kill -9 of the leading trainer: the other one leads, and its model reaches everyone;
#   6. ingest goes on after the failovers, each event stored once by its owner.
# Between 3 and 4, the front door: nginx (Debian's) spreads requests over the serving
# replicas by a consistent hash of the user; a replica that does not own the user sends the
# request on to the owner (OwnerRouter), and POST /v1/events produces to the topic. An event
# sent through the front door must change its user's recommendations on every replica
# (figure: p50/p99 of that delay, measured by visibility_probe).
# Usage: replicas.sh NUDGE KAFKA_MOCK VISIBILITY_PROBE [EVENTS] [USERS]
set -euo pipefail
nudge=$1
mock=$2
probe=$3
events=${4:-20000}
users=${5:-1000}
work=$(mktemp -d)
pids=()
nginx_pid=
cleanup() {
  # nginx's master stops its workers on TERM; a -9 would leave them running.
  if [ -n "$nginx_pid" ]; then kill -TERM "$nginx_pid" 2>/dev/null || true; fi
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "replicas: FAIL: $*" >&2
  for r in 1 2 3 t1 t2; do
    [ -f "$work/log$r" ] && tail -5 "$work/log$r" | sed "s/^/  $r: /" >&2
  done
  exit 1
}
now_ms() { date +%s%3N; }
# Waits up to $1 seconds for the command in the remaining arguments to succeed.
wait_for() {
  local limit=$1
  shift
  local until=$(($(now_ms) + limit * 1000))
  while ! "$@"; do
    [ "$(now_ms)" -lt "$until" ] || return 1
    sleep 0.05
  done
}
health() { curl -sf "http://127.0.0.1:$(cat "$work/port$1")/healthz" || echo '{}'; }
field() { health "$1" | grep -o "\"$2\":[0-9]*" | head -1 | cut -d: -f2; }  # a number in /healthz
stored() { field "$1" events; }
model_version() { field "$1" model_version; }
leads() { health "$1" | grep -q '"leader":true'; }
partitions() { health "$1" | grep -o '"partitions":\[[0-9,]*\]' | grep -o '[0-9][0-9,]*' || true; }
serving=(1 2 3)  # serving replicas alive
trainers=(t1 t2) # trainers alive
sum_stored() {
  local sum=0
  for r in "${serving[@]}"; do sum=$((sum + $(stored "$r"))); done
  echo "$sum"
}
stored_is() { [ "$(sum_stored)" -eq "$1" ]; }
holds_all() { [ "$(stored "$1")" -ge "$2" ]; }
all_partitions_owned() {
  local owned=""
  for r in "${serving[@]}"; do
    local p
    p=$(partitions "$r")
    [ -n "$p" ] || return 1  # every replica owns some
    owned="$owned,$p"
  done
  [ "$(echo "$owned" | tr ',' '\n' | grep -c .)" -eq 6 ] &&
    [ "$(echo "$owned" | tr ',' '\n' | grep . | sort -u | wc -l)" -eq 6 ]
}
# The history of user $1 as served by whichever serving replica has it: the sum of its weights.
history_total() {
  local best=0
  for r in "${serving[@]}"; do
    local n
    n=$(curl -sf "http://127.0.0.1:$(cat "$work/port$r")/v1/users/$1" |
      grep -o '"weight":[0-9.]*' | cut -d: -f2 | awk '{s += $1} END {printf "%d", s}')
    [ "${n:-0}" -gt "$best" ] && best=$n
  done
  echo "$best"
}
check_histories() {  # $1: when
  for u in 0 7 123 $((users - 1)); do
    [ "$(history_total "u$u")" -eq "$per_user" ] || fail "$1: user u$u has $(history_total "u$u") of $per_user events"
  done
}
make_events() {  # $1 events from $2 on, user k % users
  awk -v n="$1" -v from="$2" -v users="$users" 'BEGIN {
    for (k = from; k < from + n; k++)
      printf "{\"user\":\"u%d\",\"item\":\"i%d\",\"timestamp\":1700000000}\n", k % users, (k * 7) % 500
  }'
}
everyone_at() {  # every live process serves model version $1
  for r in "${serving[@]}" "${trainers[@]}"; do [ "$(model_version "$r")" = "$1" ] || return 1; done
}
# Retrains on trainer $1 and waits until every process serves that version: "version ms".
publish_everywhere() {
  local start answer version
  start=$(now_ms)
  answer=$(curl -sf -X POST "http://127.0.0.1:$(cat "$work/port$1")/v1/retrain") || fail "retrain on $1 failed"
  version=$(echo "$answer" | grep -o '"model_version":[0-9]*' | cut -d: -f2)
  wait_for 30 everyone_at "$version" || fail "model $version did not reach every process"
  echo "$version $(($(now_ms) - start))"
}
kill_process() {  # $1 pid
  kill -9 "$1"
  wait "$1" 2>/dev/null || true  # reaped quietly
}

"$mock" cluster --brokers-file "$work/brokers" --topic events --partitions 6 2>"$work/mock.log" &
pids+=($!)
wait_for 10 test -s "$work/brokers" || fail "the mock cluster did not start"
brokers=$(cat "$work/brokers")
redis_port=
for port in $(shuf -i 20000-60000 -n 20); do
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --loglevel warning >"$work/redis.log" 2>&1 &
  redis_pid=$!
  if wait_for 5 redis-cli -p "$port" ping >/dev/null 2>&1; then
    redis_port=$port
    break
  fi
  kill_process "$redis_pid"
done
[ -n "$redis_port" ] || fail "redis-server did not start"
pids+=("$redis_pid")

# A replica killed with -9 is noticed when its Kafka session times out: 6 s here (librdkafka's
# default is 45 s); a leader's lock expires after 3 s.
cat >"$work/replica.toml" <<CONFIG
[kafka]
brokers = "$brokers"
topic = "events"
group = "scenario"
[kafka.properties]
"session.timeout.ms" = "6000"
"heartbeat.interval.ms" = "500"
"fetch.wait.max.ms" = "10"
[cluster]
redis = "127.0.0.1:$redis_port"
name = "scenario"
model_dir = "$work/models"
lease_ms = 3000
poll_ms = 100
[model]
spec = "ials:factors=16,iterations=5"
[retrain]
interval_s = 0
after_events = 0
CONFIG
declare -A pid_of
start_process() {  # $1 name, then extra flags
  local name=$1
  shift
  "$nudge" serve -c "$work/replica.toml" -d "$work/data-$name" --port 0 --port-file "$work/port$name" --threads 1 \
    --replica-id "$name" "$@" >"$work/log$name" 2>&1 &
  pids+=($!)
  pid_of[$name]=$!
}
start_process t1 --trainer
start_process t2 --trainer
for r in 1 2 3; do start_process "$r"; done
for r in 1 2 3 t1 t2; do wait_for 20 test -s "$work/port$r" || fail "$r did not start"; done
wait_for 60 all_partitions_owned || fail "the partitions were not split between the 3 serving replicas"
echo "replicas: partitions: 1 owns [$(partitions 1)], 2 owns [$(partitions 2)], 3 owns [$(partitions 3)]"

# 2. Events through Kafka, each stored once by its owner.
make_events "$events" 0 >"$work/events.jsonl"
start=$(now_ms)
"$mock" produce --bootstrap "$brokers" --topic events <"$work/events.jsonl" >"$work/produce.out"
wait_for 60 stored_is "$events" || fail "stored $(sum_stored) of $events events"
elapsed=$(($(now_ms) - start))
echo "replicas: $(cat "$work/produce.out"); all $events stored by their owners in $elapsed ms" \
  "($((events * 1000 / (elapsed > 0 ? elapsed : 1))) events/s)"
per_user=$((events / users))
check_histories "after ingest"

# 3. One trainer leads; its model reaches every process.
wait_for 20 sh -c "curl -sf http://127.0.0.1:$(cat "$work/portt1")/healthz | grep -q '\"leader\":true' ||
  curl -sf http://127.0.0.1:$(cat "$work/portt2")/healthz | grep -q '\"leader\":true'" || fail "no trainer leads"
leader=t1
leads t1 || leader=t2
wait_for 30 holds_all "$leader" "$events" || fail "the leader holds $(stored "$leader") of $events events"
read -r version took < <(publish_everywhere "$leader")
echo "replicas: trainer $leader leads; model $version trained on all $events events and served by all 5 processes" \
  "$took ms after the retrain request"

# 3b. The front door. Each replica publishes its partitions in Redis; wait until each knows
# the other two's, then measure through nginx.
owners_known() {
  [ "$(redis-cli -p "$redis_port" hlen scenario:owners)" -eq 6 ] &&
    [ "$(redis-cli -p "$redis_port" hvals scenario:owners | cut -d' ' -f1 | sort -u | wc -l)" -eq 3 ]
}
wait_for 20 owners_known || fail "the replicas did not publish their partitions: $(redis-cli -p "$redis_port" hgetall scenario:owners | tr '\n' ' ')"
mkdir -p "$work/nginx"
# The front door's config for a port.
nginx_conf() {
  {
    [ "$(id -u)" -eq 0 ] && echo "user root;"  # workers may write the temp paths under $work
    cat <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  # The user of a request: ?user=, or the {id} of /v1/users/{id}. POST /v1/events carries its
  # users in the body, and any replica produces them to their partition: spread those.
  map \$request_uri \$nudge_user {
    "~^/v1/users/(?<id>[^?/]+)" \$id;
    "~^/v1/events" \$request_id;
    default \$arg_user;
  }
  upstream replicas {
    hash \$nudge_user consistent;
    server 127.0.0.1:$(cat "$work/port1") max_fails=1 fail_timeout=5s;
    server 127.0.0.1:$(cat "$work/port2") max_fails=1 fail_timeout=5s;
    server 127.0.0.1:$(cat "$work/port3") max_fails=1 fail_timeout=5s;
    keepalive 16;
  }
  server {
    listen 127.0.0.1:$1;
    location / {
      proxy_pass http://replicas;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout;
      proxy_connect_timeout 1s;
    }
  }
}
NGINX
  } >"$work/nginx/nginx.conf"
}
# A port below the ephemeral range (where a client's connection of another test can hold any
# port at any time), retried when it is taken anyway.
front_port=
for port in $(shuf -i 10000-32000 -n 10); do
  nginx_conf "$port"
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" >"$work/nginx/start.log" 2>&1 &
  nginx_pid=$!
  if wait_for 10 curl -sf "http://127.0.0.1:$port/healthz" -o /dev/null; then
    front_port=$port
    break
  fi
  kill "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
  grep -q "Address already in use" "$work/nginx/start.log" "$work/nginx/error.log" 2>/dev/null || break
done
[ -n "$front_port" ] || fail "nginx did not start: $(cat "$work/nginx/start.log" "$work/nginx/error.log" 2>/dev/null)"
"$probe" "$front_port" "$(cat "$work/port1"),$(cat "$work/port2"),$(cat "$work/port3")" 100 5000 ||
  fail "an event through the front door did not reach every replica's answers"
forwarded=0
for r in 1 2 3; do forwarded=$((forwarded + $(field "$r" forwarded))); done
[ "$forwarded" -gt 0 ] || fail "no replica sent a request on to its owner"
# POST /v1/events through the front door is spread over the replicas, not sent to one.
for r in 1 2 3; do
  posts=$(curl -sf "http://127.0.0.1:$(cat "$work/port$r")/metrics" |
    grep -o 'nudge_http_requests_total{endpoint="events",code="2xx"} [0-9]*' | grep -o '[0-9]*$' || echo 0)
  [ "${posts:-0}" -gt 0 ] || fail "replica $r got none of the front door's POST /v1/events"
done
echo "replicas: front door: nginx, consistent hash on the user (query or path), events spread; $forwarded requests sent on to their owner"

# 4. A serving replica dies; the survivors replay its partitions. The eager assignor may
# also move partitions between the survivors, so a survivor can keep a stale copy of users it
# no longer owns: the checks are per user, on the users the victim owned.
victim=2
[ -n "$(partitions $victim)" ] || fail "replica $victim owns no partition"
victim_users=()
for u in $(seq 0 $((users / 50)) $((users - 1))); do
  n=$(curl -sf "http://127.0.0.1:$(cat "$work/port$victim")/v1/users/u$u" | grep -c '"weight"' || true)
  [ "$n" -gt 0 ] && victim_users+=("u$u")
done
[ ${#victim_users[@]} -gt 0 ] || fail "replica $victim holds none of the sampled users"
kill_process "${pid_of[$victim]}"
serving=(1 3)
# Each of the victim's users is served again with exactly its events: none lost, none twice.
victims_served() {
  for u in "${victim_users[@]}"; do
    local found=0
    for r in "${serving[@]}"; do
      local n
      n=$(curl -sf "http://127.0.0.1:$(cat "$work/port$r")/v1/users/$u" |
        grep -o '"weight":[0-9.]*' | cut -d: -f2 | awk '{s += $1} END {printf "%d", s}')
      [ "${n:-0}" -gt "$per_user" ] && fail "after the failover $u has $n events on replica $r, more than $per_user"
      [ "${n:-0}" -eq "$per_user" ] && found=1
    done
    [ $found -eq 1 ] || return 1
  done
}
start=$(now_ms)
wait_for 60 all_partitions_owned || fail "the survivors did not take over replica $victim's partitions"
wait_for 60 victims_served || fail "replica $victim's users are not all served again with their events"
failover=$(($(now_ms) - start))
echo "replicas: kill -9 of replica $victim: its partitions replayed by the survivors in $failover ms;" \
  "${#victim_users[@]} of its users checked (1 owns [$(partitions 1)], 3 owns [$(partitions 3)])"
check_histories "after the failover"

# 5. The leading trainer dies; the other leads once the lock expires and publishes the next model.
kill_process "${pid_of[$leader]}"
standby=t1
[ "$leader" = t1 ] && standby=t2
trainers=("$standby")
start=$(now_ms)
wait_for 30 leads "$standby" || fail "the standby trainer did not take the lead"
took_lead=$(($(now_ms) - start))
read -r version2 took < <(publish_everywhere "$standby")
[ "$version2" -gt "$version" ] || fail "the new leader published version $version2 after $version"
echo "replicas: kill -9 of leader $leader: $standby leads after $took_lead ms; its model $version2 served by the" \
  "3 processes left $took ms after the retrain request"

# 6. Ingest goes on: one more event per user reaches its owner.
before=$(sum_stored)
make_events "$users" "$events" | "$mock" produce --bootstrap "$brokers" --topic events >/dev/null
wait_for 30 stored_is $((before + users)) || fail "after the failovers stored $(($(sum_stored) - before)) of $users"
per_user=$((per_user + 1))
check_histories "after more events"
echo "replicas: ingest goes on after the failovers: $users more events, each stored once by its owner"
echo "replicas: PASS"
