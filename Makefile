# Set-up and the three everyday commands. Needs only Python 3.11 on the machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test report lab clean

# The versions the suite last passed with (constraints.txt): nothing for pip to resolve.
# pip installs without compiling, and the bytecode is then compiled on every core.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -c constraints.txt -e '.[test]'
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check d8lib d8demo tests benchmarks scripts
	$(BIN)/ruff format --check d8lib d8demo tests benchmarks scripts
	$(BIN)/lint-imports
	# Two workers on two cores: one BLAS thread each, so that they do not contend.
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadscope

report: $(STAMP)
	$(BIN)/d8 run --phase midterm --data data/demo --out outputs

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks

clean:
	rm -rf $(VENV) outputs/*/
