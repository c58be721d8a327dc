# 勾配演習コース — the two commands are `make lab` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# nbgrader calls `alembic` by name: the venv's bin/ must be on PATH, or the first command of a fresh course fails.
export PATH := $(abspath $(BIN)):$(PATH)
export PYTHONUTF8 := 1
PORT ?= 8888
LAB_FLAGS := --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) --ServerApp.open_browser=False
ifeq ($(shell id -u),0)
LAB_FLAGS += --allow-root
endif

.PHONY: lab instructor test install system-deps assignments lint clean-venv collect grade grades \
	exchange-release exchange-collect exchange-feedback report student-repo

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-installs only when a pin or the package metadata changed.
$(STAMP): $(BIN)/python requirements.txt constraints.txt pyproject.toml postBuild
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.txt
	@# JupyterLab in Japanese (the same script Binder runs: repo2docker's postBuild)
	@$(BIN)/python postBuild >/dev/null
	@# Validate shows only the Japanese messages (instructor/validate.py)
	@mkdir -p $(VENV)/etc/jupyter/jupyter_server_config.d
	@printf '{\n  "ServerApp": {"jpserver_extensions": {"instructor.validate": true}}\n}\n' \
	  > $(VENV)/etc/jupyter/jupyter_server_config.d/instructor-validate.json
	@touch $@

install: $(STAMP)

# make lab [WORK=work] [EXCHANGE=<folder>] — a student's JupyterLab on their own copies in $(WORK)/
# (made on first run, never overwritten); make instructor — the course root with the formgrader.
# Each mode gets its Jupyter config from .jupyter/<mode>/ (written by `python -m instructor lab`).
WORK ?= work
jupyter_mode = JUPYTER_CONFIG_PATH="$(CURDIR)/.jupyter/$(1)$${JUPYTER_CONFIG_PATH:+:$$JUPYTER_CONFIG_PATH}"

lab: $(STAMP)
	@$(BIN)/python -m instructor lab student --work "$(WORK)" $(if $(EXCHANGE),--exchange "$(EXCHANGE)")
	@echo "JupyterLab を http://127.0.0.1:$(PORT)/lab で起動します。止めるには Ctrl+C を 2 回押してください。"
	$(call jupyter_mode,student) $(BIN)/jupyter lab $(LAB_FLAGS) --ServerApp.root_dir="$(abspath $(WORK))"

instructor: $(STAMP)
	@$(BIN)/python -m instructor lab instructor
	@echo "JupyterLab (教員用, formgrader) を http://127.0.0.1:$(PORT)/lab で起動します。止めるには Ctrl+C を 2 回押してください。"
	$(call jupyter_mode,instructor) $(BIN)/jupyter lab $(LAB_FLAGS) --ServerApp.root_dir="$(CURDIR)"

NBVAL_NOTEBOOKS := $(wildcard notebooks/*.ipynb solutions/*/*.ipynb)

# System packages the tests need (Debian/Ubuntu): bubblewrap for the grading sandbox,
# PostgreSQL for the gradebook test, Chromium and a Japanese font for the browser tests
# (Playwright drives /usr/bin/chromium; it never downloads a browser). Installed with apt-get as
# root (CI) or with passwordless sudo; otherwise the command to run is printed.
SYSTEM_PACKAGES_MISSING = $(strip $(if $(shell command -v bwrap),,bubblewrap) \
	$(if $(wildcard /usr/lib/postgresql/*/bin/postgres),,postgresql) \
	$(if $(wildcard /usr/bin/chromium),,chromium) \
	$(if $(wildcard /usr/share/fonts/opentype/ipafont-gothic),,fonts-ipafont-gothic))
system-deps:
	@missing="$(SYSTEM_PACKAGES_MISSING)"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; \
	  elif sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	  else echo "システムパッケージが足りません: $$missing — sudo apt-get install $$missing"; exit 1; fi; \
	  echo "installing $$missing (apt-get)"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $$sudo apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

test: $(STAMP) system-deps
	$(BIN)/python -m pytest tests
ifneq ($(NBVAL_NOTEBOOKS),)
	$(BIN)/python -m pytest --nbval --nbval-sanitize-with .nbval-sanitize.cfg \
	  --nbval-current-env $(NBVAL_NOTEBOOKS)
endif

# make collect ASSIGNMENT=01_gradient ZIP=~/Downloads/submissions.zip
collect: $(STAMP)
	$(BIN)/python -m instructor collect "$(ASSIGNMENT)" "$(ZIP)"

# make grade [ASSIGNMENT=01_gradient] [JOBS=n] [UNSAFE=1] — autograde submitted/, feedback/,
# grades.csv; JOBS submissions at once (default: the number of cores)
grade: $(STAMP)
	$(BIN)/python -m instructor grade $(if $(JOBS),--jobs $(JOBS)) $(if $(UNSAFE),--unsafe) \
	  $(ASSIGNMENT)

grades: $(STAMP)
	$(BIN)/python -m instructor grades

# report/index.html (what the class got wrong), report/tests.csv, report/mistakes.csv
report: $(STAMP)
	$(BIN)/python -m instructor report

exchange-release exchange-collect exchange-feedback: $(STAMP)
	$(BIN)/python -m instructor exchange $(@:exchange-%=%) "$(ASSIGNMENT)"

assignments: $(STAMP)
	$(BIN)/python -m instructor assignments
	@git status --short -- release solutions

# ruff lints .py files and notebooks (notebooks/, source/) alike.
lint: $(STAMP)
	$(BIN)/ruff check .

# make student-repo DEST=../kobai-student [URL=https://.../kobai-student.git] — what students may
# see (講義/, 課題/, common, requirements, README) as a git repository outside the course: the
# one an nbgitpuller link, Binder or Colab points at. Again: a new commit in the same repository.
student-repo: $(STAMP)
	@test -n "$(DEST)" || { echo "usage: make student-repo DEST=<folder outside the course> [URL=<git URL students clone>]" >&2; exit 2; }
	$(BIN)/python -m instructor student-repo "$(DEST)" $(if $(URL),--url "$(URL)")

clean-venv:
	rm -rf $(VENV)
