# Each target does its whole set-up on a fresh machine: a .venv with the package, and node_modules
# (solc-js, OpenZeppelin, the JS Merkle library, anvil) from package-lock.json where needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test install bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

install: $(BIN)/.installed node_modules/.installed

demo: $(BIN)/.installed
	$(BIN)/openledger demo

# pytest exits 5 when it collects no test: that is a failure too.
test: install
	$(BIN)/python -m pytest -q; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

bench: install
	$(BIN)/python scripts/bench_merkle.py
	$(BIN)/python scripts/bench_gas.py
	$(BIN)/python scripts/bench_attribution.py

clean:
	rm -rf $(VENV) node_modules out .pytest_cache
