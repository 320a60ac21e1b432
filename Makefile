# Two set-up commands, both self-contained on a fresh machine:
#   make demo   -> own virtual environment, core install, demo study on embedded data
#   make test   -> test dependencies (Python and Debian's headless Chromium), the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch is pinned: 2.13.0 is the local CPU wheel; any other request pulls CUDA packages.
TORCH_PIN := torch==2.13.0

.PHONY: demo test test-slow lint bench venv install-test browser clean

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

lint: venv
	$(BIN)/ruff check src tests benchmarks

bench: install-test
	$(BIN)/python benchmarks/backtest_speed.py

clean:
	rm -rf $(VENV) runs .pytest_cache .ruff_cache
