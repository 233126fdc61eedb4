# o2o-mobility. On a fresh machine `make run` and `make test` are all you type:
# every target creates .venv and installs the pinned requirements on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
MOTO_PORT ?= 5000
STAGE ?= dev
ROLE ?= admin
SUB ?= ops-1
APPROVER ?=
SCALE ?= 1.0
SEED ?= 2022
URL ?=
RESET ?=
export AWS_DEFAULT_REGION ?= ap-northeast-2

.PHONY: run token test lint pytest browser package bench demo clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	@echo "installing into $(VENV) (first run only)..." >&2
	@$(PYTHON) -m venv $(VENV) >&2
	@$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt >&2
	@touch $@

## run: the local stack (embedded AWS, tables from infra/, API on PORT, scheduler, queue pump); its data
## is kept in .local/state (see README "Local data"): make run RESET=1 starts empty
run: $(BIN)/.installed
	$(BIN)/python -m devstack run --port $(PORT) --moto-port $(MOTO_PORT) $(if $(filter 1 true yes,$(RESET)),--reset)

## token: print a token for the local stack: make token ROLE=admin SUB=ops-1 [APPROVER=1]
token: $(BIN)/.installed
	@$(BIN)/python -m devstack token --role $(ROLE) --sub $(SUB) $(if $(filter 1 true yes,$(APPROVER)),--approver)

## test: lint, the whole test suite, then package and cfn-lint the template
test: lint pytest package

lint: $(BIN)/.installed
	$(BIN)/ruff check .

# Two workers (this machine has two cores), each test file on one worker so a module's stack is started once;
# the ten slowest tests are printed at the end.
pytest: $(BIN)/.installed browser
	$(BIN)/pytest -n 2 --dist loadfile --durations=10

# browser: Debian's headless Chromium, its driver and a Korean font for tests/e2e/test_pages_browser.py (as root)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null && fc-list :lang=ko | grep -q . || \
	  (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	   chromium chromium-driver fonts-nanum)

## package: `chalice package` with infra/ merged in, checked by cfn-lint; the zip loses what no Lambda imports
## (the SDK the runtime provides, h3's build files: infra/slim_package.py)
package: $(BIN)/.installed
	rm -rf out/package
	$(BIN)/chalice package --stage $(STAGE) --merge-template infra/resources.json out/package
	$(BIN)/python infra/slim_package.py out/package/deployment.zip
	$(BIN)/cfn-lint out/package/sam.json
	@echo "template ok: out/package/sam.json"

## bench: the performance tables
bench: $(BIN)/.installed
	$(BIN)/python -m bench

## demo: replay the fire and its aftermath through the API: make demo [SCALE=1.0] [SEED=2022] [URL=http://127.0.0.1:8000]
demo: $(BIN)/.installed
	$(BIN)/python -m demo --scale $(SCALE) --seed $(SEED) $(if $(URL),--url $(URL))

clean:
	rm -rf out .pytest_cache .ruff_cache
