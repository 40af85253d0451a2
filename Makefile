# pystack: the two commands a newcomer runs are `make demo` and `make test`.
PYTHON ?= python3
PYTEST_ARGS ?=

.PHONY: deps demo test unit lint schema bench bench-quick base-images base-images-debian clean

deps:
	@bash tools/install-deps.sh

base-images: deps
	@$(PYTHON) -m orchestrator.images.base_images

base-images-debian: deps
	@$(PYTHON) -m orchestrator.images.base_images --debian

demo: deps
	@bash examples/quickstart/demo.sh

test: deps
	@$(PYTHON) -m pytest -q $(PYTEST_ARGS)
	@$(PYTHON) bench/run.py --quick --runs 1 --only pystack --groups runtime,cli,stack5,restart,fifty,memory \
		--out /tmp/pystack-bench-smoke

unit: deps
	@$(PYTHON) -m pytest -q tests/unit

lint: deps
	@$(PYTHON) -m ruff check orchestrator tests bench
	@$(PYTHON) -m mypy --strict orchestrator
	@$(PYTHON) -m orchestrator.spec.schema --check specs/stack.schema.json

schema: deps
	@$(PYTHON) -m orchestrator.spec.schema -o specs/stack.schema.json

bench: deps
	@WITH_PEERS=1 bash tools/install-deps.sh
	@$(PYTHON) bench/run.py

bench-quick: deps
	@WITH_PEERS=1 bash tools/install-deps.sh
	@$(PYTHON) bench/run.py --quick

clean:
	rm -rf build *.egg-info .pytest_cache .mypy_cache .ruff_cache .deps-stamp
