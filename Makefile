# Two entry points for a fresh machine: `make plan` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STACK  ?= dev

.PHONY: plan test clean

$(BIN)/maas: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

plan: $(BIN)/maas  ## install into .venv and plan the dev environment offline
	$(BIN)/maas plan --stack $(STACK) --out out/$(STACK)

test: $(BIN)/maas  ## install into .venv and run the whole test suite
	$(BIN)/pytest -n auto -q

clean:
	rm -rf $(VENV) out .pytest_cache
