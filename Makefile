# Every target creates its own virtualenv (.venv) on first use; nothing else is needed but Python >= 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs bench runtime-check constructs-tokio clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Verify the bundled production model: succeeds when mcheck reports the expected futurelock (exit 1).
demo: $(STAMP)
	@$(BIN)/mcheck verify models/production.mc; status=$$?; \
	if [ $$status -eq 1 ]; then echo "demo: futurelock found, as expected"; \
	else echo "demo: expected a futurelock (exit 1), got exit $$status"; exit 1; fi

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/mypy --strict mcheck tools/patterns_doc.py tools/runtime_check.py tools/runtime_modelgen.py tools/runtime_minimize.py tools/constructs_tokio.py
	$(BIN)/ruff check mcheck tests tools

# Regenerate docs/patterns.md (the pattern catalog) from tools/patterns_catalog.toml and real mcheck output.
docs: $(STAMP)
	$(BIN)/python tools/patterns_doc.py

# N request tasks through a channel(1), on the native kernel (compiled per N, as SPIN compiles pan.c):
# with symmetry reduction (the default), then the raw engine beside SPIN's BFS on bench/pool_family.pml
# (the same states; `apt-get install spin`, else the SPIN columns say it is missing), the search on all
# cores against one thread (the speed-up of --workers); then
# `mcheck scan` on a generated 100,000-line crate (lines per second).
bench: $(STAMP)
	$(BIN)/python bench/compile.py
	$(BIN)/python bench/bench.py --max-n 12 --runtime current-thread
	$(BIN)/python bench/bench.py --max-n 8 --runtime multi-thread
	$(BIN)/python bench/bench.py --max-n 7 --no-symmetry --runtime current-thread --spin --speedup --budget 300
	$(BIN)/python bench/scan_bench.py --lines 100000

# Every bundled model and N generated ones on the real tokio runtime beside mcheck's exact-time verdict
# (tools/runtime_check.py; needs cargo, installs Debian's tokio sources when root, else skips).
# SEED fixes the generator's seed (default: from the clock; printed either way).
N ?= 200
runtime-check: $(STAMP)
	$(BIN)/python tools/runtime_check.py -n $(N) $(if $(SEED),--seed $(SEED)) $(RUNTIME_CHECK_FLAGS)

# Build and run the tokio program beside each construct model (models/constructs/NAME.rs) and
# compare what it did with the model's exact-time header; needs cargo and Debian's tokio sources.
constructs-tokio: $(STAMP)
	$(BIN)/python tools/constructs_tokio.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache .runtime-check
