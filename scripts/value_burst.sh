#!/usr/bin/env bash
# Value-network data and training in one time-boxed burst on a many-core (GPU) machine:
#   1. self-play of the policy net on WORKERS processes for SELFPLAY_S seconds
#      (scripts/selfplay.py, AlphaGo's recipe in spirit: moves sampled from the policy for
#      the first GREEDY_AFTER moves, then its most probable move, so that the outcome is a
#      fairly deterministic function of each later position);
#   2. scripts/train_value.py on those games for at most TRAIN_S seconds
#      (POSITIONS_PER_GAME positions drawn per game, best checkpoint by validation MSE).
# Every phase is time-boxed and writes what it has into OUT_DIR as it goes.
#
#   scripts/value_burst.sh OUT_DIR SELFPLAY_S TRAIN_S [WORKERS]
#   env: PYTHON (python3), MODEL (data/policy_sl.pt), DEVICE (auto), GAMES (256 a call),
#        GREEDY_AFTER (30), POSITIONS_PER_GAME (16), STEPS (4000), BATCH (512),
#        LOADERS (data-loader workers, 8), WORK (scratch folder, runs/value_burst),
#        SGF_ARCHIVE (1: also OUT_DIR/selfplay_sgf.tar.xz), FIRST_ID (first game id, 0),
#        EXTRA_SHARDS (more shard folders for training, e.g. earlier games; their game ids
#        must not collide with FIRST_ID onwards), SELFPLAY_ONLY (1: stop after the games,
#        leaving their shards in WORK/sp/w*/ for another trainer, e.g. campaign_burst.sh),
#        GRACE (seconds a self-play call may run past SELFPLAY_S before it is stopped and
#        its games dropped: 30)
set -u
if [ $# -lt 3 ]; then
    echo "usage: $0 OUT_DIR SELFPLAY_S TRAIN_S [WORKERS]" >&2
    exit 2
fi
OUT=$1
SELFPLAY_S=$2
TRAIN_S=$3
WORKERS=${4:-$(( $(nproc) > 2 ? $(nproc) - 2 : 1 ))}
PY=${PYTHON:-python3}
MODEL=${MODEL:-data/policy_sl.pt}
DEVICE=${DEVICE:-auto}
GAMES=${GAMES:-256}
GREEDY_AFTER=${GREEDY_AFTER:-30}
PER_GAME=${POSITIONS_PER_GAME:-16}
STEPS=${STEPS:-4000}
BATCH=${BATCH:-512}
LOADERS=${LOADERS:-8}
WORK=${WORK:-runs/value_burst}
FIRST_ID=${FIRST_ID:-0}
EXTRA_SHARDS=${EXTRA_SHARDS:-}
export OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$WORK/sp"
source "$(dirname "$0")/burst_common.sh"  # log

log "workers=$WORKERS games/call=$GAMES greedy_after=$GREEDY_AFTER device=$DEVICE model=$MODEL"
# compile the numba kernels once (their cache serves every worker)
$PY scripts/selfplay.py --model "$MODEL" --games 2 --max-moves 20 --device "$DEVICE" \
    --out "$WORK/warm" >>"$OUT/burst.log" 2>&1 || { log "warm-up self-play failed"; exit 1; }
rm -rf "$WORK/warm"

worker() {
    # a call that would run past the deadline by more than GRACE seconds (a slow net, a
    # slow machine) is stopped and its games dropped, so the time box holds
    local k=$1 i=0 deadline=$2
    while [ "$(date +%s)" -lt "$deadline" ]; do
        local tag=w${k}_$i
        timeout -s TERM -k 10 $(( deadline - $(date +%s) + ${GRACE:-30} )) \
            $PY scripts/selfplay.py --model "$MODEL" --games "$GAMES" --device "$DEVICE" \
            --greedy-after "$GREEDY_AFTER" --seed $(( k * 1000 + i + 1 )) \
            --first-id $(( FIRST_ID + (k * 1000 + i) * GAMES )) --out "$WORK/sp/$tag" \
            >"$WORK/sp/$tag.json" 2>>"$WORK/sp/errors.log" \
            || { rm -f "$WORK/sp/$tag.json"; rm -rf "$WORK/sp/$tag"; }
        i=$(( i + 1 ))
    done
}

t0=$(date +%s)
for k in $(seq 0 $(( WORKERS - 1 ))); do
    worker "$k" $(( t0 + SELFPLAY_S )) &
done
wait
t1=$(date +%s)
$PY - "$WORK/sp" $(( t1 - t0 )) "$WORKERS" >"$OUT/selfplay_summary.json" <<'EOF'
import json, sys
from pathlib import Path
root, seconds, workers = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
calls = [json.loads(p.read_text()) for p in sorted(root.glob("*.json")) if p.stat().st_size]
games = sum(c["games"] for c in calls)
moves = sum(c["moves"] for c in calls)
print(json.dumps({"calls": len(calls), "games": games, "moves": moves, "seconds": seconds,
                  "workers": workers, "games_per_hour": round(3600 * games / max(seconds, 1)),
                  "moves_per_s": round(moves / max(seconds, 1), 1),
                  "black_wins": sum(c["black_wins"] for c in calls),
                  "white_wins": sum(c["white_wins"] for c in calls)}))
EOF
log "self-play: $(cat "$OUT/selfplay_summary.json")"
[ "${SELFPLAY_ONLY:-0}" = 1 ] && exit 0

if [ "${SGF_ARCHIVE:-0}" = 1 ]; then  # the games themselves, xz-compressed, while training
    (cd "$WORK/sp" && XZ_OPT="-6 -T0" tar -cJf "$OUT/selfplay_sgf.tar.xz" w*/sgf \
        && log "SGF archive: $(du -h "$OUT/selfplay_sgf.tar.xz" | cut -f1)") &
fi
for d in $EXTRA_SHARDS; do  # made by a concurrent prepare_data.py: wait for its summary
    for _ in $(seq 300); do [ -f "$d/summary.json" ] && break; sleep 1; done
    [ -f "$d/summary.json" ] || log "extra shards $d not ready: left out"
done
shards="$(ls -d "$WORK"/sp/w*/ 2>/dev/null) $(for d in $EXTRA_SHARDS; do
    [ -f "$d/summary.json" ] && echo "$d"; done)"
if [ -z "${shards// /}" ]; then
    log "no self-play games: stopping"
    exit 1
fi
# shellcheck disable=SC2086
timeout -s TERM -k 60 "$TRAIN_S" $PY scripts/train_value.py --shards $shards \
    --run-dir "$WORK/value" --device "$DEVICE" --filters 64 --depth 6 --feature-set basic \
    --batch-size "$BATCH" --lr 0.02 --schedule cosine --warmup-steps 200 \
    --total-steps "$STEPS" --positions-per-game "$PER_GAME" --eval-every 250 \
    --eval-positions 20000 --checkpoint-every 500 --workers "$LOADERS" --quiet \
    >"$OUT/value_report.txt" 2>>"$OUT/burst.log"
log "value training exit $?: $(tail -2 "$OUT/value_report.txt" | tr '\n' ' ')"
# the checkpoint with the lowest validation MSE (the last one if none was evaluated)
for f in last.pt best.pt; do
    [ -f "$WORK/value/$f" ] && cp "$WORK/value/$f" "$OUT/value.pt"
done
[ -f "$WORK/value/log.csv" ] && cp "$WORK/value/log.csv" "$OUT/value_log.csv"
wait
log "done in $(( $(date +%s) - t0 )) s"
