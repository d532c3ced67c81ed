# Two commands set everything up on a fresh clone: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo demo-s3 test bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/fedring demo

demo-s3: $(STAMP)
	scripts/demo-s3.sh

# Flower pins an older fastapi than Prefect 3.9 wants: the comparison gets its own venv.
BENCH_VENV  := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): pyproject.toml
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

# fedring vs Flower (plain, SecAgg+) on full MNIST at 5 and 10 accounts and the 3/10/30-account
# sweep, each system one client at a time and as many at once as cores (each at its best and at
# equal settings); BENCH_ARGS=all adds every benchmarks/bench_*.py. Then the parallel-stage targets.
bench: $(BENCH_STAMP)
	FLWR_TELEMETRY_ENABLED=0 $(BENCH_VENV)/bin/python -m benchmarks compare sweep --docs --accounts 5 10 --limit 0 --schemes iid $(BENCH_ARGS)
	$(BENCH_VENV)/bin/python benchmarks/bench_parallel.py | tee benchmarks/out/parallel.jsonl

test: $(STAMP)
	$(BIN)/python -m pytest -m "not sweep" $(PYTEST_ARGS)

clean:
	rm -rf runs .pytest_cache .hypothesis
