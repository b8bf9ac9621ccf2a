# henderson -- build, test and reference targets.
#
#   make test        system packages (apt, if root) -> .venv -> pip install -e ".[test]" -> lint -> fast tests
#   make lint        ruff check on henderson/, tests/ and benchmarks/ (rules in pyproject.toml)
#   make test-all    the same, including tests marked slow
#   make demo        run henderson.demo
#   make bench       quick benchmark suite
#   make references  regenerate tests/reference/*.json with R (needs R + lme4, lmerTest, pbkrtest, emmeans)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

PYTHON3 ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
STAMP   := $(VENV)/.henderson-install-stamp

# Debian packages needed to build scikit-sparse 0.4.x (CHOLMOD from SuiteSparse 5.x) on OpenBLAS,
# plus what a bare Debian image lacks to create a venv and compile extensions.
SYSPKGS := libsuitesparse-dev libopenblas-dev python3-venv python3-dev build-essential

# R packages used only by `make references` (tests never need R).
RPKGS   := r-base-core r-cran-lme4 r-cran-lmertest r-cran-pbkrtest r-cran-emmeans r-cran-jsonlite

.PHONY: test test-all lint demo bench references sysdeps install clean-venv

test: lint
	$(VENV)/bin/pytest -m "not slow" -q

test-all: lint
	$(VENV)/bin/pytest -q

lint: install
	$(VENV)/bin/ruff check henderson tests benchmarks

demo: install
	$(PY) -m henderson.demo

bench: install
	$(PY) -m benchmarks.run --suite quick

install: sysdeps $(STAMP)

# Install missing Debian packages when root; otherwise print the command and stop.
sysdeps:
	@missing=""; \
	for p in $(SYSPKGS); do \
	  dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" -eq 0 ]; then \
	    echo "installing missing system packages:$$missing"; \
	    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	  else \
	    echo "missing system packages:$$missing"; \
	    echo "run:  sudo apt-get update && sudo apt-get install -y$$missing"; \
	    exit 1; \
	  fi; \
	fi

$(PY):
	$(PYTHON3) -m venv $(VENV)

# Reinstall only when pyproject.toml is newer than the stamp.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -e ".[test]"
	touch $(STAMP)

references:
	@command -v Rscript >/dev/null || { echo "Rscript not found; install: apt-get install -y $(RPKGS)"; exit 1; }
	cd tests/reference && OPENBLAS_NUM_THREADS=1 LC_ALL=C Rscript --vanilla make_reference.R
	cd tests/reference/boundary && OPENBLAS_NUM_THREADS=1 LC_ALL=C Rscript --vanilla make_boundary.R
	cd tests/reference && LC_ALL=C Rscript --vanilla make_lme4_checks.R

clean-venv:
	rm -rf $(VENV)
