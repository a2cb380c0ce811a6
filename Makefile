# Each target does its whole set-up on a fresh machine: a .venv with the package, and node_modules
# (solc-js, OpenZeppelin, the JS Merkle library, anvil) from package-lock.json where needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# slither gets a venv of its own: slither-analyzer 0.11.6 requires web3<8, and .venv has web3 8.
ANALYSIS_VENV := .venv-analysis
ANALYSIS_BIN := $(ANALYSIS_VENV)/bin

.PHONY: demo test install bench slither clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The `analysis` extra of pyproject.toml (the slither-analyzer pin), without the package itself.
$(ANALYSIS_BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(ANALYSIS_VENV)
	$(ANALYSIS_BIN)/python -m pip install --quiet --upgrade pip
	$(ANALYSIS_BIN)/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["analysis"]))' >$(ANALYSIS_VENV)/requirements.txt
	$(ANALYSIS_BIN)/python -m pip install --quiet -r $(ANALYSIS_VENV)/requirements.txt
	touch $@

install: $(BIN)/.installed node_modules/.installed

demo: $(BIN)/.installed
	$(BIN)/openledger demo

# pytest exits 5 when it collects no test: that is a failure too. Two workers (pytest-xdist), each taking whole
# test files (--dist loadfile), so a module's shared fixture (the demo, a module's round) is built once.
test: install
	$(BIN)/python -m pytest -q -n 2 --dist loadfile; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$status

# Static analysis of contracts/*.sol (and what they import), compiled as one standard-JSON input by
# scripts/solc-js: the project's own compiler (solc-js) and settings (cancun, optimizer 200 runs).
# Reports only findings that touch contracts/ outside contracts/test/ (OpenZeppelin's own findings
# in node_modules/ are left out; --include-paths keeps a finding if any of its elements matches,
# where --filter-paths would drop one of ours that merely mentions an OpenZeppelin line). Fails on
# any High or Medium finding; contracts/SLITHER.md explains every finding that remains.
slither: install $(ANALYSIS_BIN)/.installed
	OPENLEDGER_PYTHON=$(abspath $(BIN))/python $(ANALYSIS_BIN)/slither contracts \
		--solc scripts/solc-js --solc-standard-json \
		--include-paths '^(?!.*/node_modules/).*/contracts/(?!test/)' --fail-medium

bench: install
	$(BIN)/python scripts/bench_merkle.py
	$(BIN)/python scripts/bench_gas.py
	$(BIN)/python scripts/bench_attribution.py

clean:
	rm -rf $(VENV) $(ANALYSIS_VENV) node_modules out .pytest_cache
