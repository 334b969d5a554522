# Two commands: `make run` (set up if needed, train if the data changed, start everything) and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY_VERSION := $(shell cat .python-version)
PYTHON_BASE ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/$(PY_VERSION)/bin/python3) $(shell command -v python3.10))
VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONWARNINGS := ignore
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_PORT ?= 5005
export ACTIONS_PORT ?= 5055
export WEB_PORT ?= 8000

# Rasa reads only these folders (data/screening and data/lexicon are ours, not training data).
RASA_DATA := data/nlu data/rules
TRAINING_INPUTS := config.yml domain.yml $(shell find $(RASA_DATA) -name '*.yml' 2>/dev/null | sort)
# (the cue files for digressions and red flags are read by the actions at run time: no retraining when they change)
LEXICON := $(shell find data/lexicon -type f ! -name digressions.yml ! -name red_flags.yml 2>/dev/null | sort)

.PHONY: help venv spacy model db run run-cluster lint test test-fast validate bench clean system-packages

help:
	@echo "make run    set up (first time), train if the data changed, start the assistant"
	@echo "make test   set up (first time) and run every test"
	@echo "make run-cluster N=2   the same, as N replicas behind HAProxy on PostgreSQL (README: Running several instances)"

$(VENV)/.installed: requirements.lock .python-version
	@test -n "$(PYTHON_BASE)" || { echo "Python $(PY_VERSION) not found: install it (pyenv install $(PY_VERSION))"; exit 1; }
	@echo "Setting up the environment in $(VENV) (the first time, or requirements.lock changed: a few minutes)..."
	@test -x $(PY) || $(PYTHON_BASE) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==24.0 setuptools==70.3.0 wheel==0.45.1
	$(PY) -m pip install --quiet --no-deps -r requirements.lock
	$(PY) -m pip check
	@touch $@

venv: $(VENV)/.installed

# The spaCy pipeline built from data/lexicon (rebuilt only when the lexicon changed).
spacy: venv
	@$(PY) -m bot language build

# Train only when the training data, config or lexicon changed (Rasa's own check would still load everything).
# Rasa's output (hundreds of warnings) goes to var/log/train.log; the screen gets one line, or the log's end on failure.
TRAIN_LOG := var/log/train.log
models/.trained: $(VENV)/.installed $(TRAINING_INPUTS) $(LEXICON)
	@$(MAKE) --no-print-directory spacy
	@mkdir -p $(dir $(TRAIN_LOG)) && rm -f $(TRAIN_LOG) && (umask 077 && : > $(TRAIN_LOG))
	@echo "Training the model (the data changed; a few minutes; its output: $(TRAIN_LOG))..."
	@$(RASA) train --quiet --data $(RASA_DATA) --fixed-model-name clinic --out models >> $(TRAIN_LOG) 2>&1 \
		|| { echo "Training failed. The end of $(TRAIN_LOG):"; tail -n 40 $(TRAIN_LOG); exit 1; }
	@echo "Trained: models/clinic.tar.gz"
	@touch $@

model: models/.trained

db: venv
	@mkdir -p var
	@$(PY) -m bot db upgrade

# Front-end packages from npm (axe-core for the browser tests), reinstalled when package-lock.json changes.
node_modules: package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js and npm (apt-get install nodejs npm)"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: model db node_modules
	@$(PY) -m bot serve  # progress on screen, the URLs last; the processes' output in var/log/serve.log

# N replicas (Rasa server, action server, web app) behind HAProxy on PostgreSQL, on this machine (bot/cluster.py).
# HAProxy and PostgreSQL come from Debian: installed when running as root, otherwise the command to run is printed.
N ?= 2
run-cluster: model db node_modules
	@bash .ci/system-packages cluster
	@$(PY) -m bot cluster --replicas $(N)  # progress on screen, the URLs last; the processes' output in var/log/

validate: venv
	$(RASA) data validate --data $(RASA_DATA)

system-packages:
	@bash .ci/system-packages

# The lint and type gate (settings in pyproject.toml), before any test runs.
lint: venv
	$(VENV)/bin/ruff check bot actions tests bench
	$(VENV)/bin/ruff format --check --quiet bot actions tests bench
	$(VENV)/bin/mypy bot actions

test: lint system-packages model db node_modules
	$(PY) -m pytest

bench: model db
	$(PY) bench/speed.py

clean:
	rm -rf models/*.tar.gz models/.trained models/spacy-clinic results
