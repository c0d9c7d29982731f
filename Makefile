# The two commands a newcomer needs; both set up the environment the first time.
#   make run    run the service (web, worker, Redis) on http://127.0.0.1:8000/
#   make test   run the whole test suite
# And: make narrate (the sample review to out/her.mp3 with the CLI), make bench.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAMPLE ?= ../shared/samples/her-review.txt
VOICE ?= female

PORT ?= 8000

.PHONY: run narrate test bench setup
run: $(VENV)/.installed
	$(PY) -m cli up --port $(PORT)

narrate: $(VENV)/.installed
	$(PY) -m cli narrate $(SAMPLE) --voice $(VOICE) -o out/her.mp3

test: $(VENV)/.installed
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) bench/narrate_sample.py
	$(PY) bench/service.py

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[coqui,check,test]'
	# torchaudio's PyPI wheel is linked against CUDA; with CPU torch it runs as pure Python.
	$(PY) -m voices.engines.fix_torchaudio
	touch $@
