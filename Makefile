# The two set-up commands of the README. Both create .venv on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PIP     := $(BIN)/pip
PIN     := -c constraints-dev.txt

.PHONY: demo test install install-dev lint format bench docs clean browser

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Runtime install: netcost and the pinned torch/torchvision (the built-in examples include torchvision's resnet18).
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints-dev.txt
	$(PIP) install -q $(PIN) -e ".[vision]"
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -q $(PIN) -e ".[vision,dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/netcost

lint: install-dev
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

# The HTML report is tested in a real headless browser: Debian's chromium and its driver.
browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null || \
	    { $$SUDO apt-get update -q >/dev/null && \
	      $$SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null; }; }

# Every test, on both cores; then the wall-clock ones alone, with nothing else running.
test: lint browser
	NETCOST_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -n 2 --dist worksteal -m "not serial"
	$(BIN)/python -m pytest -m serial

bench: install-dev
	$(BIN)/python benchmarks/run.py

# Refresh the real outputs shown in docs/examples.md after an intended output change.
docs: install-dev
	cd tests && ../$(BIN)/python update_docs.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache
