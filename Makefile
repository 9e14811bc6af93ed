# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint screenshot wheel-check clean

# (Re)install when the venv is missing or pyproject.toml changed.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@echo 'installing checkerlab and its dependencies into $(VENV) (log: $(VENV)/install.log)'
	@$(PY) -m pip install -e '.[dev]' > $(VENV)/install.log 2>&1 || (tail -30 $(VENV)/install.log; exit 1)
	@touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/checkerlab run

test: $(STAMP)
	$(VENV)/bin/ruff check .
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# Benchmarks compare against PyTorch: the optional `torch` extra (a CPU wheel) is installed here only.
# Every benchmarks/bench_*.py rewrites its own section of docs/performance.md; plot.py then draws
# docs/performance.png from bench_kernels' results (and times the exact paths against depth).
bench: $(STAMP)
	$(PY) -m pip install -q -e '.[dev,torch]'
	@for script in benchmarks/bench_*.py; do \
		echo "== $$script"; QT_QPA_PLATFORM=offscreen $(PY) $$script || exit 1; \
	done
	$(PY) benchmarks/plot.py

# The README's screenshot, rendered offscreen once both views are computed.
screenshot: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(VENV)/bin/checkerlab gui --screenshot docs/screenshot.png

# Build the wheel, install it into a fresh venv and run it from outside the checkout (CI runs this too).
wheel-check: $(STAMP)
	.ci/check-wheel $(PY)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
