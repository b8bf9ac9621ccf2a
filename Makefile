# henderson -- build, test and reference targets.
#
#   make test        system packages (apt, if root; with slurm-wlm and munge for the SLURM test) -> .venv
#                    -> pip install -e ".[test]" -> lint -> fast tests
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

# Debian packages of the one-node SLURM cluster that tests/cli/test_cli_cluster.py starts (as root) to run
# a batch through dask-jobqueue against a real scheduler; without them (or root) that test is skipped.
CLUSTERPKGS := slurm-wlm munge

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

# Install missing Debian packages when root; otherwise print the command, and stop if a build package is
# missing (the cluster packages only serve a test that needs root anyway: a note, not a stop).
sysdeps:
	@missing=""; cluster=""; \
	for p in $(SYSPKGS); do \
	  dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	for p in $(CLUSTERPKGS); do \
	  dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || cluster="$$cluster $$p"; \
	done; \
	if [ -n "$$missing$$cluster" ] && [ "$$(id -u)" -eq 0 ]; then \
	  echo "installing missing system packages:$$missing$$cluster"; \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing$$cluster; \
	elif [ -n "$$missing" ]; then \
	  echo "missing system packages:$$missing$$cluster"; \
	  echo "run:  sudo apt-get update && sudo apt-get install -y$$missing$$cluster"; \
	  exit 1; \
	elif [ -n "$$cluster" ]; then \
	  echo "note: the SLURM cluster test is skipped (needs root and:$$cluster);" \
	       "to run it: sudo apt-get install -y$$cluster, then make test as root"; \
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
