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

.PHONY: venv play test test-fast bench clean

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

test-fast: venv
	$(PY) -m pytest -q -m "not slow" tests $(ARGS)

bench: venv
	$(PY) scripts/bench.py --json

clean:
	rm -rf $(VENV) .pytest_cache
