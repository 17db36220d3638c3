# Every target creates its own virtualenv (.venv) on first use; nothing else is needed but Python >= 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs bench clean

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
	$(BIN)/mypy --strict mcheck tools/patterns_doc.py
	$(BIN)/ruff check mcheck tests tools

# Regenerate docs/patterns.md (the pattern catalog) from tools/patterns_catalog.toml and real mcheck output.
docs: $(STAMP)
	$(BIN)/python tools/patterns_doc.py

# N request tasks through a channel(1): with symmetry reduction (the default), then the raw engine;
# then `mcheck scan` on a generated 100,000-line crate (lines per second).
bench: $(STAMP)
	$(BIN)/python bench/bench.py --max-n 12
	$(BIN)/python bench/bench.py --max-n 6 --no-symmetry
	$(BIN)/python bench/scan_bench.py --lines 100000

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
