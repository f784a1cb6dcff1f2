# cnnlab - set-up and everyday commands.  `make demo` and `make test` are all a newcomer needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The CPU build of PyTorch; override e.g. TORCH_SPEC="torch" to take your platform's default build.
TORCH_SPEC ?= torch==2.13.0
# Real data sets for tests and benchmarks (see README); tests that need them skip when absent.
CNNLAB_DATA ?= $(abspath ../shared/data)
export CNNLAB_DATA

.PHONY: install dev demo serve test test-all bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(TORCH_SPEC)
	$(PY) -m pip install --quiet -e .
	touch $@

dev: $(VENV)/.dev-installed

$(VENV)/.dev-installed: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[dev]'
	# the browser tests drive Debian's Chromium (never a downloaded browser); they skip if it cannot be installed
	command -v chromium >/dev/null || (command -v apt-get >/dev/null && \
		(apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && \
		 apt-get install -y -q chromium >/dev/null)) ) || echo "chromium not installed: browser tests will skip"
	touch $@

demo: install
	$(VENV)/bin/cnnlab train mnist-mini --epochs 4 --runs-dir runs

serve: install
	$(VENV)/bin/python -m pip install --quiet -e '.[serve]'
	$(VENV)/bin/cnnlab serve

test: dev
	CNNLAB_QUICK=1 $(PY) -m pytest -q

test-all: dev
	$(PY) -m pytest -q -m ''

clean:
	rm -rf $(VENV) runs build dist src/*.egg-info .pytest_cache
