#!/usr/bin/env bash
# The training campaign on a GPU machine, time-boxed: positions are prepared on the
# machine's own cores from the pro archive carried along, the campaign's committed state
# (data/campaign/state.pt) is continued with a large batch in bf16, and the new state
# (weights, optimizer, weight average, step: a few MB) plus the best candidate and the log
# land in OUT_DIR, ready to be copied back over data/campaign/state.pt.
#
#   scripts/campaign_burst.sh OUT_DIR MINUTES
#
# On a lent machine (the archive and the sgfmill wheel travel as carried, ignored paths):
#   mkdir -p .burst .whl && cp ../shared/data/pro_games.tar.gz .burst/
#   pip download --no-deps --only-binary=:all: -d .whl sgfmill
#   run: STATE=data/campaign/state_6x64_kd.pt bash scripts/campaign_burst.sh runs/bo 8
#        (carry: .burst, .whl; STATE: the campaign to continue; its data offset comes from
#        the state), then copy the few files wanted from runs/bo to $OUT (at most 8 come
#        back: state.pt, candidate.pt, burst.log, burst_log.csv, ...)
#   the tracked files, the archive and the wheel travel together (64 MiB at most): move
#   large tracked files the call does not need (other campaigns' states) out of the
#   checkout for the call. While the machine is still warm, a second call continues in
#   place with what is left of the 15 minutes, without preparing or playing again:
#   STATE=runs/bo/state.pt DECAY_PCT=0 bash scripts/campaign_burst.sh runs/bo 4
# then here: cp FILES_AT/state.pt over that state file and commit it.
#
# env: PYTHON (python3), ARCHIVE (.burst/pro_games.tar.gz), STATE (data/campaign/state.pt),
#      DEVICE (cuda; auto/cpu to rehearse on a CPU), BATCH (1024), LR (unset: the rate the
#      state was trained at, scaled with the batch, e.g. 0.005 at 256 is 0.02 at 1024; a
#      fresh net: the campaign's 0.02 at 256, so 0.08), PROCS (cores for data preparation and
#      loading: nproc - 2), WORK (scratch, runs/campaign_burst), MAX_GAMES (all; small for
#      a rehearsal), EVAL_EVERY (500), WHEELS (.whl), SELFPLAY_S (150: seconds of self-play of
#      the campaign's net on half the cores, while the positions are prepared on the other
#      half, whose games train the value head beside the pro outcomes; 0: none; by
#      default 0 when WORK already holds self-play folders from an earlier call),
#      VALUE_BATCH (128 self-play rows a batch), VALUE_PER_GAME (32 positions a game),
#      DECAY_PCT (25: the last quarter of the training time decays the rate to zero on a
#      branch, giving OUT_DIR/candidate.pt; the state stays at the stable rate),
#      FILTERS, DEPTH, FEATURE_SET (another architecture: a campaign of its own, e.g.
#      FILTERS=128 DEPTH=10 STATE=data/campaign/state_10x128.pt; it starts a fresh net when
#      STATE does not exist yet, without self-play unless SELFPLAY_S is set),
#      SCALING_S (0: seconds kept at the end for `bench.py --only threads` on this machine's
#      cores, the search's simulations/s with 1, 2, 4, ... search threads: OUT_DIR/threads.json;
#      on a GPU it runs the counts three ways, calls merged, apart, and on the CPU backend:
#      give it 150)
set -u
if [ $# -lt 2 ]; then
    echo "usage: $0 OUT_DIR MINUTES" >&2
    exit 2
fi
OUT=$1
MINUTES=$2
START=$(date +%s)
PY=${PYTHON:-python3}
ARCHIVE=${ARCHIVE:-.burst/pro_games.tar.gz}
STATE=${STATE:-data/campaign/state.pt}
ARCH=()  # another architecture's campaign: its own state, a fresh net the first time
if [ -n "${FILTERS:-}${DEPTH:-}${FEATURE_SET:-}" ]; then
    ARCH=(--init-from none --data-offset 0)
    [ -n "${FILTERS:-}" ] && ARCH+=(--filters "$FILTERS")
    [ -n "${DEPTH:-}" ] && ARCH+=(--depth "$DEPTH")
    [ -n "${FEATURE_SET:-}" ] && ARCH+=(--feature-set "$FEATURE_SET")
fi
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-1024}
LR=${LR:-}
LR_ARGS=()
[ -n "$LR" ] && LR_ARGS=(--lr "$LR")
PROCS=${PROCS:-$(( $(nproc) > 3 ? $(nproc) - 2 : 1 ))}
WORK=${WORK:-runs/campaign_burst}
EVAL_EVERY=${EVAL_EVERY:-500}
WHEELS=${WHEELS:-.whl}
VALUE_BATCH=${VALUE_BATCH:-128}
DECAY_PCT=${DECAY_PCT:-25}
VALUE_PER_GAME=${VALUE_PER_GAME:-32}
SCALING_S=${SCALING_S:-0}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$WORK"
source "$(dirname "$0")/burst_common.sh"
ensure_sgfmill
[ -f "$ARCHIVE" ] || { log "no archive at $ARCHIVE"; exit 1; }
if [ -f "$STATE" ]; then
    log "device=$DEVICE batch=$BATCH lr=${LR:-state rate, batch-scaled} procs=$PROCS state=$STATE ($(du -h "$STATE" | cut -f1))"
elif [ ${#ARCH[@]} -gt 0 ]; then
    log "device=$DEVICE batch=$BATCH lr=${LR:-0.02 batch-scaled} procs=$PROCS: a fresh net (${ARCH[*]})"
else
    log "no campaign state at $STATE"; exit 1
fi
log_torch

# 1. self-play games of the campaign's net for the value head (in the background) and
#    positions from the archive, in parallel (about 13 M positions from the pro archive).
#    A second call on the same (warm) machine finds both in WORK and goes straight to
#    training: its shards are kept, and its self-play folders are used again unless
#    SELFPLAY_S asks for more.
HAVE_SP=$(ls -d "$WORK"/vb/sp/w*/ 2>/dev/null | wc -l)
if [ -f "$STATE" ] && [ "$HAVE_SP" = 0 ]; then SELFPLAY_S=${SELFPLAY_S:-150}
else SELFPLAY_S=${SELFPLAY_S:-0}; fi
SP_PROCS=$(( PROCS > 1 ? PROCS / 2 : 1 ))
if [ "$SELFPLAY_S" -gt 0 ]; then
    cp "$STATE" "$WORK/selfplay_model.pt"
    MODEL="$WORK/selfplay_model.pt" SELFPLAY_ONLY=1 WORK="$WORK/vb" PYTHON="$PY" \
        DEVICE="$DEVICE" bash scripts/value_burst.sh "$OUT/selfplay" "$SELFPLAY_S" 0 \
        "$SP_PROCS" 2>>"$OUT/burst.log" &
    SP_PID=$!
fi
if [ ! -f "$WORK/shards/summary.json" ]; then
    rm -rf "$WORK/shards"
    EXTRA=()
    [ -n "${MAX_GAMES:-}" ] && EXTRA=(--max-games "$MAX_GAMES")
    P=$(( SELFPLAY_S > 0 && PROCS > 1 ? PROCS - SP_PROCS : PROCS ))
    [ -n "${MAX_GAMES:-}" ] && P=1
    $PY scripts/prepare_data.py "$ARCHIVE" --out "$WORK/shards" --procs "$P" "${EXTRA[@]}" \
        >>"$OUT/burst.log" 2>&1 || { log "data preparation failed"; exit 1; }
fi
log "shards ready: $(tail -c 300 "$WORK/shards/summary.json" | tr -d '\n ' | head -c 200)"
VALUE_SHARDS=()
[ "$SELFPLAY_S" -gt 0 ] && wait "$SP_PID"
if [ "$SELFPLAY_S" -gt 0 ] || [ -f "$STATE" ]; then  # a fresh net: only self-play it asked for
    mapfile -t VALUE_SHARDS < <(ls -d "$WORK"/vb/sp/w*/ 2>/dev/null)
fi
[ ${#VALUE_SHARDS[@]} -gt 0 ] && log "self-play shard folders for the value head: ${#VALUE_SHARDS[@]}"

# 2. the campaign, for what is left of the time (90 s kept for loading the positions twice,
#    the final checkpoints and the copies)
LEFT=$(( MINUTES * 60 - ($(date +%s) - START) - 90 - SCALING_S ))
if [ "$LEFT" -lt 30 ]; then
    log "no time left for training ($LEFT s)"; exit 1
fi
# (a second call may continue the first one's state in place: STATE=OUT/state.pt)
[ -f "$STATE" ] && { [ "$STATE" -ef "$OUT/state.pt" ] || cp "$STATE" "$OUT/state.pt"; }
DECAY_S=$(( LEFT * DECAY_PCT / 100 ))
STABLE_S=$(( LEFT - DECAY_S ))
COMMON=(--device "$DEVICE" --bf16 on --nice 0 --run-dir "$WORK/run" --state "$OUT/state.pt"
        --shards "$WORK/shards" --batch-size "$BATCH" "${LR_ARGS[@]}" --workers "$PROCS"
        --eval-every "$EVAL_EVERY" --checkpoint-every 200 --value-batch "$VALUE_BATCH"
        --value-positions-per-game "$VALUE_PER_GAME" --quiet "${ARCH[@]}")
[ ${#VALUE_SHARDS[@]} -gt 0 ] && COMMON+=(--value-shards "${VALUE_SHARDS[@]}")
log "training: $STABLE_S s at the stable rate, then $DECAY_S s of decay for a candidate"
$PY scripts/campaign.py --hours "$($PY -c "print($STABLE_S / 3600)")" "${COMMON[@]}" \
    >>"$OUT/burst.log" 2>&1
RC=$?
cp "$WORK/run/log.csv" "$OUT/burst_log.csv" 2>/dev/null
[ -f "$WORK/run/best.pt" ] && cp "$WORK/run/best.pt" "$OUT/best.pt"
log "campaign exit $RC; $(tail -n 1 "$OUT/burst.log")"

# 3. a candidate: the decay on a branch, its length in steps from the stable phase's speed
if [ "$RC" = 0 ] && [ "$DECAY_S" -ge 20 ]; then
    STEPS=$($PY -c "
import csv, sys
rows = list(csv.DictReader(open('$WORK/run/log.csv')))
rate = float(rows[-1]['samples_per_s']) if rows else 0.0
print(max(10, int(rate / $BATCH * $DECAY_S)))")
    log "decay branch: $STEPS steps"
    $PY scripts/campaign.py --decay "$STEPS" --candidate-dir "$WORK/candidate" \
        --hours "$($PY -c "print($DECAY_S / 3600)")" "${COMMON[@]}" >>"$OUT/burst.log" 2>&1
    DRC=$?
    [ -f "$WORK/candidate/best.pt" ] && cp "$WORK/candidate/best.pt" "$OUT/candidate.pt"
    cp "$WORK/candidate/log.csv" "$OUT/candidate_log.csv" 2>/dev/null
    log "decay exit $DRC; $(tail -n 1 "$OUT/burst.log")"
fi

# 4. optionally, how the search scales with search threads on this machine's cores
if [ "$SCALING_S" -gt 0 ]; then
    timeout "$SCALING_S" $PY scripts/bench.py --only threads --repeats 2 --json \
        >"$OUT/threads.json" 2>>"$OUT/burst.log"
    log "threads bench exit $?: $(cat "$OUT/threads.json")"
fi
exit $RC
