# Every target sets itself up: a fresh machine needs only Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Wheels of every dependency (and of the build backend), so that the installed-wheel test
# (tests/integration/test_wheel_install.py) sets up a fresh virtualenv without the network.
WHEELHOUSE := $(VENV)/wheelhouse
CONFORMANCE_VENV := .venv-conformance
CONFORMANCE_STAMP := $(CONFORMANCE_VENV)/.installed

.PHONY: venv test conformance demo bench clean

venv: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -rf $(WHEELHOUSE)
	$(BIN)/python -m pip wheel --quiet -w $(WHEELHOUSE) . 'setuptools>=68' wheel
	rm -f $(WHEELHOUSE)/obscale-*.whl
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# A real OceanBase kernel (seekdb from pylibseekdb) and obemu run one suite: docs/conformance.md.
$(CONFORMANCE_STAMP): setup.cfg pyproject.toml
	test -x $(CONFORMANCE_VENV)/bin/python || $(PYTHON) -m venv $(CONFORMANCE_VENV)
	$(CONFORMANCE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CONFORMANCE_VENV)/bin/python -m pip install --quiet -e '.[conformance]'
	touch $(CONFORMANCE_STAMP)

conformance: $(CONFORMANCE_STAMP)
	$(CONFORMANCE_VENV)/bin/python -m tests.conformance.run $(PYTEST_ARGS)

demo: $(STAMP)
	$(BIN)/obscale demo

bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) $(CONFORMANCE_VENV) .pytest_cache .hypothesis *.egg-info
