# Two commands do all the set-up on a fresh machine:
#   make play   -> the GTP engine with the shipped model (creates .venv if missing)
#   make test   -> the whole test suite (creates .venv if missing)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# torch==2.13.0 installs a CPU build from local disk here; override for CUDA, e.g.
#   make TORCH_SPEC='torch==2.13.0 --index-url https://download.pytorch.org/whl/cu124' venv
TORCH_SPEC ?= torch==2.13.0
ARGS ?=

.PHONY: venv play test test-fast test-nojit bench clean

# the kernel tests again as plain Python (numba's JIT off), as DESIGN's first convention asks
NOJIT_TESTS = tests/test_board.py tests/test_features.py tests/test_symmetry.py \
	tests/test_coords.py tests/test_mcts.py

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip >/dev/null 2>&1 || true
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e '.[test,onnx,distributed]' || \
		$(PY) -m pip install -q -e '.[test,onnx]' || $(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

play: venv
	$(PY) gtp_server.py $(ARGS)

test: venv
	$(PY) -m pytest -q tests $(ARGS)
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q -p no:cacheprovider $(NOJIT_TESTS)

test-nojit: venv
	NUMBA_DISABLE_JIT=1 $(PY) -m pytest -q -p no:cacheprovider $(NOJIT_TESTS)

test-fast: venv
	$(PY) -m pytest -q -m "not slow" tests $(ARGS)

bench: venv
	$(PY) scripts/bench.py --json

clean:
	rm -rf $(VENV) .pytest_cache
