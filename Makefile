# Two commands: `make demo` runs the bundled Kutim scenario end to end, `make test` passes the tests.
# Both set up their own virtual environment in .venv from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean venv readme-images readme

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/pilkada-sim validate scenarios/kutim-2024.yaml
	$(BIN)/pilkada-sim compare scenarios/kutim-2024.yaml --baseline pemilu2024
	$(BIN)/pilkada-sim exercise scenarios/kutim-2024.yaml --injects scenarios/exercises/kutim-latihan-pra-operasi.csv

lint: $(STAMP)
	$(BIN)/ruff check sim tests scenarios bench docs fuzz
	$(BIN)/ruff format --check sim tests scenarios bench docs fuzz
	$(BIN)/mypy sim

test: lint
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/bench_core.py
	$(BIN)/python bench/bench_parallel.py
	$(BIN)/python bench/bench_optimize.py
	$(BIN)/python bench/bench_scaling.py

readme: $(STAMP)
	$(BIN)/python docs/readme_demo.py

readme-images: $(STAMP)
	$(BIN)/python docs/make_images.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
