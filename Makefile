# README command 1: `make conformance`   README command 2: `make test`
VENV ?= .venv
PY := $(VENV)/bin/python
IMPL ?= tf
# pytest-xdist workers: one per core (auto); WORKERS=0 runs serially. loadgroup keeps the tests that share
# draws on one worker, in order, so the verdicts are a serial run's.
WORKERS ?= auto
PYTEST := $(PY) -m pytest -n $(WORKERS) --dist loadgroup

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[all]'
	touch $@

.PHONY: install conformance test clean
install: $(VENV)/.installed

# The implementations whose gradient tests are not in `make test` or `make conformance` yet (issue "Gradients"):
# their findings are recorded from one run in CI's order, but their 10 minutes do not fit CI's time yet; they run
# with `pytest tests/conformance/test_gradients.py --impl=NAME`. gradients_of(impl): the pytest option that leaves
# them out for a pending implementation.
GRADIENTS_PENDING ?= jax keras-jax
# Likewise the gradient relations (forward = reverse, sum = pullback of ones, ...), run by their meta tests on broken
# adapters and on torch until each framework's violations are recorded.
GRADIENT_RELATIONS_PENDING ?= $(IMPLS)
gradients_of = $(if $(filter $(1),$(GRADIENTS_PENDING)),--deselect tests/conformance/test_gradients.py) \
	$(if $(filter $(1),$(GRADIENT_RELATIONS_PENDING)),--deselect tests/conformance/test_gradient_relations.py)
IMPLS := numpy tf tf1 torch jax keras-jax keras-torch tf-keras

# suite(impl): the conformance suite on one implementation, with its report: the default one's is
# reports/index.{html,json}, every other's reports/<impl>.{html,json} (so CI renders every implementation's results). One
# command for `make conformance` and `make test`, so that CI, which runs only the latter, checks the former's run.
report_of = reports/$(if $(filter $(1),$(IMPL)),index,$(1)).html
suite = $(PYTEST) tests/conformance --impl=$(1) -q --report $(call report_of,$(1)) $(call gradients_of,$(1))

# The conformance suite on the default implementation, leaving reports/index.{html,json}.
conformance: $(VENV)/.installed
	$(call suite,$(IMPL))

# The project's own tests: the oracle, the specs, the harness and the report, then the suite on every
# built-in implementation (each must be green: failures are recorded findings, xfailed with a reason), each leaving its
# report. The run of the default implementation is `make conformance`'s and leaves reports/index.{html,json}.
test: $(VENV)/.installed
	$(PYTEST) tests/meta -q
	$(foreach impl,$(IMPLS),$(call suite,$(impl)) &&) true

clean:
	rm -rf $(VENV) reports/*.html reports/*.json reports/*.jsonl .hypothesis .oracle-cache .jax-cache
