# Shared helpers for bench/compare scripts (sourced). Servers run on loopback only.

free_port() {
  python3 - <<'PY' 2>/dev/null || echo $((20000 + RANDOM % 20000))
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

start_nginx() {  # $1 = temp dir; sets NGINX_URL, NGINX_PID
  local dir=$1 port
  port=$(free_port)
  mkdir -p "$dir/nginx/www"
  chmod a+rx "$dir"  # workers run as an unprivileged user
  printf 'ok\n' >"$dir/nginx/www/ok.txt"
  cat >"$dir/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $dir/nginx/body;
  server {
    listen 127.0.0.1:$port;
    root $dir/nginx/www;
  }
}
CONF
  nginx -c "$dir/nginx/nginx.conf" -p "$dir/nginx" &
  NGINX_PID=$!
  NGINX_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do curl -fsS "$NGINX_URL/ok.txt" >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "nginx did not start" >&2; return 1
}

start_agentmesh() {  # $1 = temp dir; extra args follow; sets AM_URL, AM_PID
  local dir=$1; shift
  ${AM_BIN:-build/agentmesh} serve --listen 127.0.0.1:0 --data-dir "$dir/am-data" --log-level warn "$@" \
    >"$dir/am.out" 2>"$dir/am.err" &
  AM_PID=$!
  local line=""
  for _ in $(seq 1 200); do
    line=$(grep -m1 '^agentmesh listening on ' "$dir/am.out" || true)
    [[ -n "$line" ]] && break
    sleep 0.05
  done
  AM_URL=${line#agentmesh listening on }
  [[ "$AM_URL" == http://* ]] || { echo "agentmesh did not start" >&2; cat "$dir/am.err" >&2; return 1; }
}

stop_all() {
  [[ -n "${AM_PID:-}" ]] && kill "$AM_PID" 2>/dev/null && wait "$AM_PID" 2>/dev/null || true
  [[ -n "${NGINX_PID:-}" ]] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
}

# wrk_run URL SECONDS -> one line "RPS P99_MS"
wrk_run() {
  local out
  out=$(wrk -t2 -c64 -d"$2"s --latency -s bench/compare/heartbeat.lua "$1")
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  if grep -q 'Non-2xx' <<<"$out"; then echo "warning: non-2xx responses: $(grep Non-2xx <<<"$out")" >&2; fi
  echo "$rps $p99"
}

# min_fields FILE: the fewest fields on any line of FILE.
min_fields() { awk 'NR == 1 || NF < m {m = NF} END {print m + 0}' "$1"; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# report FILE_A FILE_B NAME_A NAME_B [CPU_NAME...]: medians and ratios A/B. When both files
# hold the same number of runs (line N of each ran back to back), also the median of the
# per-run ratios: on a machine whose speed drifts between runs, adjacent runs compare
# better. CPU_NAMEs name the CPU columns of wrk_run_cpu runs, in order.
report() {
  local a_rps a_p99 b_rps b_p99
  a_rps=$(awk '{print $1}' "$1" | median); a_p99=$(awk '{print $2}' "$1" | median)
  b_rps=$(awk '{print $1}' "$2" | median); b_p99=$(awk '{print $2}' "$2" | median)
  printf '%-22s median %10.0f req/s  p99 %7.2f ms\n' "$3" "$a_rps" "$a_p99"
  printf '%-22s median %10.0f req/s  p99 %7.2f ms\n' "$4" "$b_rps" "$b_p99"
  awk -v ar="$a_rps" -v br="$b_rps" -v ap="$a_p99" -v bp="$b_p99" \
    'BEGIN {printf "ratio req/s %.2f   ratio p99 %.2f\n", ar / br, ap / bp}'
  if [[ $(wc -l <"$1") == $(wc -l <"$2") ]]; then
    local pr_rps pr_p99
    local n  # values per line of file A
    n=$(awk 'NR == 1 {print NF}' "$1")
    pr_rps=$(paste -d' ' "$1" "$2" | awk -v n="$n" '{print $1 / $(n + 1)}' | median)
    pr_p99=$(paste -d' ' "$1" "$2" | awk -v n="$n" '{print $2 / $(n + 2)}' | median)
    printf 'per-run ratios, median: req/s %.2f   p99 %.2f\n' "$pr_rps" "$pr_p99"
  fi
  # Runs of wrk_run_cpu also carry CPU microseconds per request, one column per group of
  # processes, named by the arguments after NAME_B.
  local labels=("${@:5}") k
  for k in "${!labels[@]}"; do
    local col=$((k + 3)) a_cpu b_cpu
    if (($(min_fields "$1") < col || $(min_fields "$2") < col)); then
      break
    fi
    a_cpu=$(awk -v c="$col" '{print $c}' "$1" | median)
    b_cpu=$(awk -v c="$col" '{print $c}' "$2" | median)
    printf 'CPU per request of the %s, median: %s %.2f us, %s %.2f us, ratio %.2f' "${labels[k]}" \
      "$3" "$a_cpu" "$4" "$b_cpu" "$(awk -v a="$a_cpu" -v b="$b_cpu" 'BEGIN {print a / b}')"
    if [[ $(wc -l <"$1") == $(wc -l <"$2") ]]; then
      local n
      n=$(awk 'NR == 1 {print NF}' "$1")
      printf '   per-run ratios, median %.2f' \
        "$(paste -d' ' "$1" "$2" | awk -v c="$col" -v n="$n" '{print $c / $(n + c)}' | median)"
    fi
    printf '\n'
  done
}

# start_nginx_with DIR NAME WORKERS CHECK_URL HTTP_BODY: starts one more nginx with its own
# prefix DIR/NAME, `worker_processes WORKERS` and HTTP_BODY (server/upstream blocks) in its
# http block, then waits until CHECK_URL answers 2xx. Appends the master's pid to
# EXTRA_PIDS; stop_extra stops them all.
start_nginx_with() {
  local dir=$1 name=$2 workers=$3 check=$4 body=$5
  local prefix="$dir/$name"
  mkdir -p "$prefix"
  chmod a+rx "$dir"  # workers run as an unprivileged user
  cat >"$prefix/nginx.conf" <<CONF
worker_processes $workers;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $prefix/body;
  proxy_temp_path $prefix/proxy;
$body
}
CONF
  nginx -c "$prefix/nginx.conf" -p "$prefix" &
  EXTRA_PIDS+=("$!")
  for _ in $(seq 1 100); do
    curl -fsS "$check" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "nginx '$name' did not start:" >&2; cat "$prefix/error.log" >&2; return 1
}

# stop_extra: stops every nginx started by start_nginx_with.
stop_extra() {
  local pid
  for pid in "${EXTRA_PIDS[@]:-}"; do
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  EXTRA_PIDS=()
}

# wrk_run_with SCRIPT URL SECONDS -> one line "RPS P99_MS" (wrk_run with another wrk script)
wrk_run_with() {
  local out rps p99
  out=$(wrk -t2 -c64 -d"$3"s --latency -s "$1" "$2")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
  if grep -q 'Non-2xx' <<<"$out"; then echo "warning: non-2xx responses: $(grep Non-2xx <<<"$out")" >&2; fi
  WRK_REQUESTS=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$rps $p99"
}

# cpu_ticks PID...: the user + system clock ticks the processes' threads have used so far
# (threads that ended are not counted: the servers measured here keep theirs).
cpu_ticks() {
  local total=0 f
  for pid in "$@"; do
    for f in /proc/"$pid"/task/*/stat; do
      [[ -r "$f" ]] || continue
      total=$((total + $(awk '{print $14 + $15}' "$f")))
    done
  done
  echo "$total"
}

# wrk_run_cpu LUA URL SECONDS GROUP...: like wrk_run_with, with one more value per GROUP
# (a quoted, space-separated list of PIDs): the CPU time in microseconds that its processes
# spent per request during the run. With the machine saturated the processes' shares of
# the cores add up to all of them, so requests/s is the cores over the sum of every
# process's CPU per request: a group's figure tells where a faster or slower run did less
# or more work per request.
wrk_run_cpu() {
  local lua=$1 url=$2 secs=$3 out line group
  shift 3
  local -a before=() after=()
  for group in "$@"; do
    # shellcheck disable=SC2086  # a group is a list of PIDs
    before+=("$(cpu_ticks $group)")
  done
  out=$(mktemp)
  wrk_run_with "$lua" "$url" "$secs" >"$out"  # not in a subshell: it sets WRK_REQUESTS
  for group in "$@"; do
    # shellcheck disable=SC2086
    after+=("$(cpu_ticks $group)")
  done
  line=$(cat "$out")
  rm -f "$out"
  local i hz
  hz=$(getconf CLK_TCK)
  for i in "${!before[@]}"; do
    line+=$(awk -v t=$((after[i] - before[i])) -v hz="$hz" -v n="$WRK_REQUESTS" \
      'BEGIN {printf " %.2f", t * 1e6 / hz / n}')
  done
  echo "$line"
}
