# Each target does its whole set-up on a fresh machine: a .venv with the package, and node_modules
# (solc-js, OpenZeppelin, the JS Merkle library, anvil) from package-lock.json where needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# slither gets a venv of its own: slither-analyzer 0.11.6 requires web3<8, and .venv has web3 8.
ANALYSIS_VENV := .venv-analysis
ANALYSIS_BIN := $(ANALYSIS_VENV)/bin
# So does pyDVL, the KNN-Shapley reference of the tests: pyDVL 0.10.0 requires NumPy < 2, and .venv has NumPy 2.
REFERENCE_VENV := .venv-reference
REFERENCE_BIN := $(REFERENCE_VENV)/bin

.PHONY: demo test install reference bench slither clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,bench]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# $(call extra_venv,VENV,EXTRA): a venv holding one extra of pyproject.toml (its pins), without the package itself.
define extra_venv
	$(PYTHON) -m venv $(1)
	$(1)/bin/python -m pip install --quiet --upgrade pip
	$(1)/bin/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["$(2)"]))' >$(1)/requirements.txt
	$(1)/bin/python -m pip install --quiet -r $(1)/requirements.txt
	touch $(1)/bin/.installed
endef

$(ANALYSIS_BIN)/.installed: pyproject.toml
	$(call extra_venv,$(ANALYSIS_VENV),analysis)

$(REFERENCE_BIN)/.installed: pyproject.toml
	$(call extra_venv,$(REFERENCE_VENV),reference)

install: $(BIN)/.installed node_modules/.installed

reference: $(REFERENCE_BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/openledger demo

# pytest exits 5 when it collects no test: that is a failure too. Two workers (pytest-xdist), each taking whole
# test files (--dist loadfile), so a module's shared fixture (the demo, a module's round) is built once.
test: install reference
	OPENLEDGER_REFERENCE_PYTHON=$(abspath $(REFERENCE_BIN))/python $(BIN)/python -m pytest -q -n 2 --dist loadfile; status=$$?; \
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

bench: install reference
	$(BIN)/python scripts/bench_merkle.py
	$(BIN)/python scripts/bench_gas.py
	$(BIN)/python scripts/bench_attribution.py

clean:
	rm -rf $(VENV) $(ANALYSIS_VENV) $(REFERENCE_VENV) node_modules out .pytest_cache
