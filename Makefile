# `make run` and `make test` are all a newcomer needs: both create .venv and install what they use.
# `make test` runs `make check` (format, lint, types) first, then the suite on every core.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test check bench bench-query install clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "llmobserve needs Python >= 3.11; set PYTHON=python3.11 (or newer)")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# uv installs in ~10 s what pip takes ~45 s for (pip stays the fallback); compiled at install, so the
	@# suite's many server processes do not each compile the same modules on a fresh clone
	@$(PY) -m pip install --quiet --disable-pip-version-check uv && $(VENV)/bin/uv pip install --quiet --python $(PY) --compile-bytecode -e '.[server,dev]' \
		|| $(PY) -m pip install --quiet --disable-pip-version-check -e '.[server,dev]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/llmobserve serve $(ARGS)

# NO_INSTALL=1 checks with the venv as it is (tests run `make check` on a copy of the tree with this venv)
check: $(if $(NO_INSTALL),,$(STAMP))
	@$(VENV)/bin/ruff format --check --quiet . || { echo "make check: files above need formatting: $(VENV)/bin/ruff format ."; exit 1; }
	$(VENV)/bin/ruff check --output-format concise --quiet .
	$(PY) -m tests.typecheck

test: check
	$(VENV)/bin/pytest $(ARGS)

bench: $(STAMP)
	@$(PY) -c 'import rotel' 2>/dev/null || $(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[server,dev,bench]'
	$(PY) -m bench.ingest $(ARGS)

bench-query: $(STAMP)
	$(PY) -m bench.query $(ARGS)

clean:
	rm -rf $(VENV) .llmobserve .pytest_cache .mypy_cache .typecheck
