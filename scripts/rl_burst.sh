#!/usr/bin/env bash
# The self-play reinforcement-learning loop on a GPU machine, time-boxed: as many
# generations of self-play, training and gating as fit, self-play in parallel worker
# processes on the machine's cores, the network on the GPU; the run's best model, its
# summary (games, hours, each gate with its interval) and ratings land in OUT_DIR.
#
#   scripts/rl_burst.sh OUT_DIR MINUTES
#
# On a lent machine (the sgfmill wheel travels as a carried, ignored path):
#   mkdir -p .whl && pip download --no-deps --only-binary=:all: -d .whl sgfmill
#   run: bash scripts/rl_burst.sh $OUT 9     (carry: .whl)
# then here: copy FILES_AT/best.pt where the next step wants it (e.g. data/policy_rl.pt
# once its gates against the SL policy hold) and keep FILES_AT/summary.json with it.
#
# env: PYTHON (python3), MODE (reinforce: AlphaGo's RL stage on 19x19 from the engine's
#      net, data/dual.pt, policy-only games against the pool; expert: expert iteration on
#      BOARD from a fresh net, search self-play with VISITS), BOARD (19 for reinforce, 9 for
#      expert), VISITS (64), CHEAP_VISITS (expert: playout-cap randomisation, the visits of
#      the moves not drawn for a full search; off by default), FULL_FRACTION (0.25),
#      PRUNE (1: KataGo's policy-target pruning), NOISE (root noise weight of the full
#      searches: 0.25; 0 records targets of noise-free searches), REPLAY (folders of played games, e.g. pro
#      games from scripts/prepare_data.py, pooled with the self-play in every batch as
#      one-hot targets: the mixed replay of docs/RESULTS.md; carry them), WINDOW (generations
#      of games trained on), VALUE_WEIGHT, VALUE_Q_WEIGHT (expert: the search's root value's
#      share of the value target), GATE_VISITS (the loop's defaults),
#      GAMES (games a generation: 1024 reinforce, 256 expert),
#      TASK_GAMES (games a worker task: 64), TRAIN_STEPS (300 reinforce, 200 expert), BATCH
#      (256), LR (3e-3 reinforce, the recipe measured in docs/RESULTS.md; expert: the loop's
#      default), GATE_GAMES (100 reinforce, 60 expert), WORKERS (nproc - 2), DEVICE (cuda;
#      cpu to rehearse), WORK (runs/rl_burst), WHEELS (.whl), SEED (0), INIT (another starting
#      net: e.g. data/policy_sl.pt, AlphaGo's SL policy; a net with a value head gives
#      REINFORCE its baseline and expert iteration its value)
set -u
if [ $# -lt 2 ]; then
    echo "usage: $0 OUT_DIR MINUTES" >&2
    exit 2
fi
OUT=$1
MINUTES=$2
START=$(date +%s)
PY=${PYTHON:-python3}
MODE=${MODE:-reinforce}
DEVICE=${DEVICE:-cuda}
WORKERS=${WORKERS:-$(( $(nproc) > 3 ? $(nproc) - 2 : 1 ))}
WORK=${WORK:-runs/rl_burst}
WHEELS=${WHEELS:-.whl}
SEED=${SEED:-0}
case "$MODE" in
    reinforce) BOARD=${BOARD:-19}; GAMES=${GAMES:-1024}; GATE_GAMES=${GATE_GAMES:-100}
               LR=${LR:-3e-3}; TRAIN_STEPS=${TRAIN_STEPS:-300}; MODE_ARGS=(--visits 0) ;;
    expert) BOARD=${BOARD:-9}; GAMES=${GAMES:-256}; GATE_GAMES=${GATE_GAMES:-60}
            MODE_ARGS=(--visits "${VISITS:-64}" --init-filters 32 --init-depth 4) ;;
    *) echo "MODE must be reinforce or expert, not $MODE" >&2; exit 2 ;;
esac
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
mkdir -p "$OUT" "$WORK"
source "$(dirname "$0")/burst_common.sh"
ensure_sgfmill
log "mode=$MODE board=$BOARD games=$GAMES workers=$WORKERS device=$DEVICE"
log_torch

# the loop until 60 s before the end (SIGINT: it checkpoints, and a rerun would resume)
LEFT=$(( MINUTES * 60 - ($(date +%s) - START) - 60 ))
if [ "$LEFT" -lt 30 ]; then
    log "no time left ($LEFT s)"; exit 1
fi
ARGS=(--run-dir "$WORK/run" --board-size "$BOARD" --generations 1000
      --games-per-generation "$GAMES" --games-per-task "${TASK_GAMES:-64}"
      --train-steps "${TRAIN_STEPS:-200}" --batch-size "${BATCH:-256}"
      --gate-games "$GATE_GAMES" --workers "$WORKERS" --device "$DEVICE" --seed "$SEED"
      --quiet "${MODE_ARGS[@]}")
[ -n "${LR:-}" ] && ARGS+=(--lr "$LR")
[ -n "${INIT:-}" ] && ARGS+=(--init-model "$INIT")
[ -n "${MAX_MOVES:-}" ] && ARGS+=(--max-moves "$MAX_MOVES")
[ -n "${CHEAP_VISITS:-}" ] && ARGS+=(--cheap-visits "$CHEAP_VISITS"
                                    --full-fraction "${FULL_FRACTION:-0.25}")
[ "${PRUNE:-0}" = 1 ] && ARGS+=(--prune-targets)
[ -n "${NOISE:-}" ] && ARGS+=(--root-noise "$NOISE")
[ -n "${WINDOW:-}" ] && ARGS+=(--window "$WINDOW")
[ -n "${VALUE_WEIGHT:-}" ] && ARGS+=(--value-weight "$VALUE_WEIGHT")
[ -n "${VALUE_Q_WEIGHT:-}" ] && ARGS+=(--value-q-weight "$VALUE_Q_WEIGHT")
[ -n "${GATE_VISITS:-}" ] && ARGS+=(--gate-visits "$GATE_VISITS")
if [ -n "${REPLAY:-}" ]; then
    read -r -a REPLAY_DIRS <<<"$REPLAY"
    for d in "${REPLAY_DIRS[@]}"; do
        [ -d "$d" ] || { log "REPLAY folder $d is missing (carry it)"; exit 2; }
    done
    ARGS+=(--replay-shards "${REPLAY_DIRS[@]}")
fi
timeout -s INT -k 30 "$LEFT" $PY scripts/rl_loop.py "${ARGS[@]}" >>"$OUT/burst.log" 2>&1
RC=$?
log "loop exit $RC (124 or 130: stopped by the time box, as planned)"

# what the run bought
for f in best.pt state.json summary.json ratings.json ratings.svg config.json; do
    [ -f "$WORK/run/$f" ] && cp "$WORK/run/$f" "$OUT/$f"
done
if [ -f "$WORK/run/state.json" ]; then
    $PY scripts/rl_loop.py --run-dir "$WORK/run" --summary > "$OUT/summary.json" 2>>"$OUT/burst.log"
    log "summary: $(head -c 400 "$OUT/summary.json" | tr -d '\n ')"
fi
[ -f "$OUT/best.pt" ] || { log "no model came out"; exit 1; }
exit 0
