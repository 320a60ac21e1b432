# Two set-up commands, both self-contained on a fresh machine:
#   make demo   -> own virtual environment, core install, demo study on embedded data
#   make test   -> test dependencies (Python and Debian's headless Chromium), the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned: 2.13.0 is the local CPU wheel; any other request pulls CUDA packages.
TORCH_PIN := torch==2.13.0

.PHONY: demo test test-slow lint bench bench-quick venv install-test browser clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel

venv: $(BIN)/python

demo: venv
	$(BIN)/pip install -q -e .
	$(BIN)/alphalab demo --out runs/demo

install-test: venv
	$(BIN)/pip install -q $(TORCH_PIN)
	$(BIN)/pip install -q -e ".[test]" $(TORCH_PIN)

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

test: install-test browser
	$(BIN)/python -m pytest -n 2 -q

test-slow: install-test browser
	$(BIN)/python -m pytest -n 2 -q -m slow

lint: install-test
	$(BIN)/ruff check src tests benchmarks

# Every benchmark script; each prints its table (numbers go into BENCHMARKS.md by hand).
bench: install-test
	$(BIN)/python benchmarks/backtest_speed.py
	$(BIN)/python benchmarks/features_speed.py
	$(BIN)/python benchmarks/alpha101_speed.py
	$(BIN)/python benchmarks/bench_data_load.py
	$(BIN)/python benchmarks/data_scale.py
	$(BIN)/python benchmarks/report_speed.py --validated
	$(BIN)/python benchmarks/rl_env_speed.py

bench-quick: install-test
	$(BIN)/python benchmarks/backtest_speed.py --quick
	$(BIN)/python benchmarks/features_speed.py --quick

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
