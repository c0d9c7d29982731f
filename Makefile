# The two commands a newcomer needs; both set up the environment the first time.
#   make run    narrate the sample review to out/her.mp3
#   make test   run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SAMPLE ?= ../shared/samples/her-review.txt
VOICE ?= female

.PHONY: run test bench setup
run: $(VENV)/.installed
	$(PY) -m cli narrate $(SAMPLE) --voice $(VOICE) -o out/her.mp3

test: $(VENV)/.installed
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) bench/narrate_sample.py

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[coqui,test]'
	# torchaudio's PyPI wheel is linked against CUDA; with CPU torch it runs as pure Python.
	$(PY) -m voices.engines.fix_torchaudio
	touch $@
