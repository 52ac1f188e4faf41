# Everything a fresh clone needs is built here: `make test` and `make demo` create .venv on first use.
PYTHON ?= python3
# Test workers: most tests wait on sockets and subprocesses, so more workers than cores pays off.
WORKERS ?= 4
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NEEDS_PYTHON := import sys; sys.exit(sys.version_info < (3, 11))
# Bytecode and pytest's rewritten test modules are cached even where the environment turns caching off
# (PYTHONDONTWRITEBYTECODE=1): the run starts dozens of Python processes that would compile them again.
PYTHON_CACHES := PYTHONDONTWRITEBYTECODE=

.PHONY: test lint typecheck pytest demo bench sandbox dist bundle clean

# A .venv whose Python is gone or too old (an earlier try with another Python) is rebuilt, not reused.
ifneq ($(wildcard $(STAMP)),)
ifneq ($(shell $(BIN)/python -c '$(NEEDS_PYTHON)' >/dev/null 2>&1 && echo ok),ok)
$(info $(VENV) was made with a Python that is missing or older than 3.11: rebuilding it)
$(shell rm -f $(STAMP))
endif
endif

$(STAMP): pyproject.toml
	@$(PYTHON) -c '$(NEEDS_PYTHON)' 2>/dev/null || { \
		echo "wiro-mcp needs Python 3.11 or newer, and '$(PYTHON)' is $$($(PYTHON) --version 2>&1)." >&2; \
		echo "Install Python 3.11+ and run: make $(or $(MAKECMDGOALS),test) PYTHON=python3.11" >&2; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(PYTHON_CACHES) $(BIN)/python -m pytest -n $(WORKERS) --dist loadgroup

demo: $(STAMP)
	$(BIN)/python examples/demo.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

sandbox: $(STAMP)
	$(BIN)/wiro-mcp sandbox

# An sdist and a wheel in dist/, built with the venv's hatchling (nothing downloaded).
dist: $(STAMP)
	rm -f dist/wiro_mcp-*.whl dist/wiro_mcp-*.tar.gz
	$(BIN)/python -m build --no-isolation --outdir dist .

# dist/wiro-mcp-<version>.mcpb for Claude Desktop (mcpb comes from npm into .tools/ on first use).
bundle: $(STAMP)
	$(BIN)/python release/build_bundle.py dist

clean:
	rm -rf $(VENV) demo-output dist .pytest_cache .mypy_cache .ruff_cache
