# Two entry points for a fresh machine: `make plan` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STACK  ?= dev
# checkov pins old packaging and boto3, so it lives in its own virtualenv.
CHECKOV := .venv-checkov/bin/checkov

.PHONY: plan test docs clean promtool system-tools

$(BIN)/maas: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

plan: $(BIN)/maas  ## install into .venv and plan the dev environment offline
	$(BIN)/maas plan --stack $(STACK) --out out/$(STACK)

test: $(BIN)/maas system-tools $(CHECKOV)  ## install into .venv and run the whole test suite
	$(BIN)/python tests/crd_models.py install  # the CRD schema packages (PyPI, npm) tests/test_crds.py judges by
	$(BIN)/pytest -n auto -q

docs: $(BIN)/maas  ## regenerate the references generated from the code (a test fails while they are stale)
	$(BIN)/maas reference config > docs/configuration.md
	$(BIN)/maas reference policies > docs/policies.md

$(CHECKOV): tools/checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet --upgrade pip
	.venv-checkov/bin/pip install --quiet -r tools/checkov.txt
	@touch $@

# Programs the tests run, from Debian's packages, installed only when missing (sudo only when
# not root): promtool and amtool check the rendered rules and Alertmanager configuration
# (prometheus, prometheus-alertmanager); dot draws the plan report's diagram (graphviz);
# headless Chromium opens the report (chromium); the report's font test renders it with DejaVu
# Sans and DejaVu Serif (fonts-dejavu-core).
SUDO := $(shell [ "$$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && echo sudo)
SYSTEM_TOOLS := promtool:prometheus amtool:prometheus-alertmanager dot:graphviz chromium:chromium
system-tools:  ## install promtool, amtool, dot, chromium and the DejaVu fonts (Debian packages) when they are missing
	@missing=""; for pair in $(SYSTEM_TOOLS); do \
	  command -v $${pair%%:*} >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf ] || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  command -v apt-get >/dev/null 2>&1 || { echo "missing:$$missing (install promtool, amtool, graphviz, chromium and fonts-dejavu-core)" >&2; exit 1; }; \
	  echo "installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
	@promtool --version 2>&1 | head -1; amtool --version 2>&1 | head -1; dot -V 2>&1; chromium --version 2>&1 | head -1

promtool: system-tools

clean:
	rm -rf $(VENV) .venv-checkov out .pytest_cache
