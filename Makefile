# Two entry points for a fresh machine: `make plan` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STACK  ?= dev

.PHONY: plan test clean promtool

$(BIN)/maas: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

plan: $(BIN)/maas  ## install into .venv and plan the dev environment offline
	$(BIN)/maas plan --stack $(STACK) --out out/$(STACK)

test: $(BIN)/maas promtool  ## install into .venv and run the whole test suite
	$(BIN)/pytest -n auto -q

# promtool checks and unit-tests the rendered SLO rules (tests/test_slo.py); amtool checks
# the rendered Alertmanager configuration. Debian's `prometheus` and `prometheus-alertmanager`
# packages ship them; installed only when missing (sudo only when not root).
SUDO := $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && echo sudo)
promtool:  ## install promtool and amtool (Debian packages) when they are missing
	@{ command -v promtool && command -v amtool; } >/dev/null 2>&1 || { \
	  command -v apt-get >/dev/null 2>&1 || { echo "promtool/amtool missing: install Prometheus 2.x's promtool and Alertmanager's amtool" >&2; exit 1; }; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus prometheus-alertmanager >/dev/null; }
	@promtool --version 2>&1 | head -1; amtool --version 2>&1 | head -1

clean:
	rm -rf $(VENV) out .pytest_cache
