# Shared by the GPU burst scripts (sourced, not run): logging to OUT/burst.log and the
# carried sgfmill wheel installed when the machine lacks it. Needs OUT, WORK, PY, WHEELS.

log() { echo "[$(date +%T)] $*" | tee -a "$OUT/burst.log" >&2; }

# sgfmill from the carried wheels when it is missing; exits the script when it cannot
ensure_sgfmill() {
    $PY -c "import sgfmill" 2>/dev/null && return 0
    if ls "$WHEELS"/*.whl >/dev/null 2>&1; then
        $PY -m pip install -q --no-index --no-deps --target "$WORK/site" "$WHEELS"/*.whl \
            >>"$OUT/burst.log" 2>&1 || { log "cannot install the carried wheels"; exit 1; }
        export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
    else
        log "sgfmill is missing and no wheel was carried in $WHEELS"; exit 1
    fi
}

log_torch() {
    $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" \
        >>"$OUT/burst.log" 2>&1
}
