# The two commands a newcomer needs; both set up the environment the first time.
#   make run          run the service (web, worker, Redis) on http://127.0.0.1:8000/
#   make test         run the whole test suite (a line per test file with its time at the end)
# And: make test-quick (no slow, fault, browser or multi-host tests; for use while working),
# make narrate (the sample review to out/her.mp3 with the CLI), make bench.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAMPLE ?= ../shared/samples/her-review.txt
VOICE ?= female
SETUP_LOG := .setup.log
QUICK := not slow and not fault and not browser and not multihost

PORT ?= 8000

.PHONY: run narrate test test-quick bench setup
run: $(VENV)/.installed
	@$(PY) -m cli up --port $(PORT)

narrate: $(VENV)/.installed
	$(PY) -m cli narrate $(SAMPLE) --voice $(VOICE) -o out/her.mp3

test: $(VENV)/.installed
	$(PY) -m pytest --durations=10

test-quick: $(VENV)/.installed
	$(PY) -m pytest -m "$(QUICK)" --durations=10

bench: $(VENV)/.installed
	$(PY) bench/narrate_sample.py
	$(PY) bench/service.py

setup: $(VENV)/.installed

# One setup step: say what it does and how long it takes, keep its output in $(SETUP_LOG), and
# on failure print one line naming the step and what to do.
# $(call step,what,how long,command,what to do when it fails)
define step
	@echo "setup: $(strip $(1)) ($(strip $(2)))…"
	@( $(strip $(3)) ) >>$(SETUP_LOG) 2>&1 || \
		{ echo "setup: $(strip $(1)) failed; $(strip $(4)) (full output: $(SETUP_LOG))" >&2; exit 1; }
endef
comma := ,

$(VENV)/.installed: pyproject.toml
	@: >$(SETUP_LOG)
	$(call step,checking Python,a second,$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))',\
		narrator needs Python 3.11: install it and run make PYTHON=python3.11)
	$(call step,creating the environment in $(VENV),a few seconds,$(PYTHON) -m venv $(VENV),\
		install the venv module (Debian: apt-get install python3-venv) and run make setup again)
	$(call step,installing packages,about 3 minutes the first time,\
		$(PY) -m pip install --upgrade pip && $(PY) -m pip install -e '.[coqui$(comma)check$(comma)test]',\
		check the network connection to the package registry and free disk space and run make setup again)
	@# torchaudio's PyPI wheel is linked against CUDA; with CPU torch it runs as pure Python.
	$(call step,preparing voices,a few seconds,\
		$(PY) -m voices.engines.fix_torchaudio && $(PY) -m cli voices,\
		reinstall with rm -rf $(VENV) and make setup)
	@touch $@
	@echo "setup: done."
