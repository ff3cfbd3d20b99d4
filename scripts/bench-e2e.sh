#!/usr/bin/env bash
# End-to-end ingest over HTTP: the example server under wrk, in the
# configurations named on the command line, alternating, so that ratios
# between them come from one sitting. Prints one line per run: the
# configuration, wrk's requests/s, the events answered 202 per second of
# load, and the events the server had stored when it stopped (its stop
# line, after draining what it accepted) per second of load. At the end,
# each configuration's median req/s and the median of its per-round
# ratios to the first configuration (pairs from one round saw the same
# machine; on a shared one they swing together).
#
#	scripts/bench-e2e.sh [-rounds N] [-duration 10s] [-conns 32] [-batch 1|100] [-bodies one|datagen] [-events N] [-addr 127.0.0.1:18089] CONFIG...
#
# -bodies one (the default) sends one product_viewed event over and over
# (-batch copies of it a request). -bodies datagen sends shop traffic from
# internal/datagen instead (scripts/e2ebodies: many visitors, devices,
# sessions and products, identify, checkouts, purchases in several
# currencies), -events of it (default 200000) in -batch events a body, in
# order of receipt; each wrk thread starts at its own place in the set and
# goes round. The bodies carry no ids, so every send is stored as a new
# event, and the rollups see as many sessions, people and products as real
# traffic gives them.
#
# A CONFIG is NAME=FLAGS, e.g. 'sqlite-nospool=-store sqlite://DB -spool off';
# DB is replaced by a fresh file and PG by a fresh schema of
# $SHOPLYTICS_BENCH_POSTGRES_URL for every run. FLAGS starting with
# 'bin:FILE ' run the server binary FILE instead of one built from the
# tree, to compare two builds side by side (build the other one with
# `go build -o FILE ./examples/server` in its checkout).
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=3 duration=10s conns=32 batch=1 bodies=one events=200000 addr=127.0.0.1:18089
while [[ $# -gt 0 && $1 == -* ]]; do
	case $1 in
	-rounds) rounds=$2; shift 2 ;;
	-duration) duration=$2; shift 2 ;;
	-conns) conns=$2; shift 2 ;;
	-batch) batch=$2; shift 2 ;;
	-bodies) bodies=$2; shift 2 ;;
	-events) events=$2; shift 2 ;;
	-addr) addr=$2; shift 2 ;;
	*) echo "unknown flag $1" >&2; exit 2 ;;
	esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [flags] NAME=FLAGS..." >&2; exit 2; }
[[ $bodies == one || $bodies == datagen ]] || { echo "-bodies $bodies is neither one nor datagen" >&2; exit 2; }
pg=${SHOPLYTICS_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/server" ./examples/server

event='{"type":"product_viewed","anonymous_id":"anon-4f1c2a","session_id":"sess-77a1","product_id":"sku-1234","product_name":"Linen shirt","category":"shirts","price":"49.90","currency":"EUR","url":"https://shop.example/p/sku-1234?utm_source=news","referrer":"https://search.example/","properties":{"variant":"blue-m","list":"summer"}}'
body=$event
if [[ $batch -gt 1 ]]; then
	body="[$event"
	for ((i = 1; i < batch; i++)); do body+=",$event"; done
	body+="]"
fi
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic d2tfZGVtbzo="
wrk.body = [==[$body]==]
LUA
if [[ $bodies == datagen ]]; then
	go run ./scripts/e2ebodies -events "$events" -batch "$batch" >"$work/bodies"
	cat >>"$work/post.lua" <<'LUA'
local bodies = {}
for line in io.lines(BODIES) do bodies[#bodies + 1] = line end
local threads, i = 0, 0
function setup(thread)
	thread:set("first", threads)
	threads = threads + 1
end
function init(args)
	-- whole requests, formatted once: formatting each one as it goes
	-- would cost wrk, on the server's cores, more than a static body
	for k = 1, #bodies do bodies[k] = wrk.format(nil, nil, nil, bodies[k]) end
	i = math.floor((first or 0) * #bodies / THREADS)
end
request = function()
	i = i % #bodies + 1
	return bodies[i]
end
LUA
	sed -i "s|BODIES|\"$work/bodies\"|; s|THREADS|2|" "$work/post.lua"
fi

secs=${duration%s}
for ((r = 1; r <= rounds; r++)); do
	for config in "$@"; do
		name=${config%%=*}
		flags=${config#*=}
		server="$work/server"
		if [[ $flags == bin:* ]]; then
			server=${flags%% *}
			server=${server#bin:}
			flags=${flags#* }
		fi
		run="$work/run-$name-$r"
		mkdir -p "$run"
		if [[ $flags == *PG* ]]; then
			schema="bench_$(date +%s%N)"
			sep='&'; [[ $pg == *\?* ]] || sep='?'
			url="$pg${sep}schema=$schema"
			flags=${flags//PG/"$url"} # quoted: & in a replacement is special in bash
		fi
		db="$run/events.db"
		flags=${flags//DB/"$db"}
		(cd "$run" && exec "$server" -addr "$addr" $flags >"$run/out" 2>"$run/log") &
		pid=$!
		for _ in $(seq 1 100); do curl -fs "$addr/health" >/dev/null 2>&1 && break; sleep 0.1; done
		wrk -t2 -c"$conns" -d"$duration" -s "$work/post.lua" "http://$addr/events" >"$run/wrk"
		rps=$(awk '/Requests\/sec/ {print $2}' "$run/wrk")
		total=$(awk '/requests in/ {print $1}' "$run/wrk")
		refused=$(awk '/Non-2xx/ {print $5}' "$run/wrk")
		kill -TERM $pid
		wait $pid || true
		stored=$(sed -n 's/.*shoplytics stopped.* stored=\([0-9]*\).*/\1/p' "$run/log")
		echo "$r $name ${rps:-0}" >>"$work/results"
		printf '%-22s round %d  %10s req/s  %9s accepted ev/s  %9s stored ev/s\n' "$name" "$r" "$rps" \
			"$(( (total - ${refused:-0}) * batch / secs ))" "$(( ${stored:-0} / secs ))"
		if [[ -n ${schema:-} ]]; then
			psql -q "$pg" -c "drop schema if exists $schema cascade" >/dev/null 2>&1 || true
			schema=
		fi
	done
done

first=${1%%=*}
echo
echo "medians of $rounds rounds; ratio: median of per-round req/s over $first's"
for config in "$@"; do
	name=${config%%=*}
	awk -v n="$name" -v f="$first" '
		$2 == f { base[$1] = $3 }
		$2 == n { v[++k] = $3; r[$1] = $3 }
		END {
			for (i in r) if (base[i] > 0) q[++m] = r[i] / base[i]
			printf "%-22s %10.0f req/s  ratio %.2f\n", n, median(v, k), median(q, m)
		}
		function median(a, c,   i, j, t) {
			for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return c % 2 ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
		}' "$work/results"
done
