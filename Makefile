# Two commands do all set-up on a fresh machine:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[cpu,train,test]'
	touch $(STAMP)

.PHONY: install demo test lint clean browser
install: $(STAMP)

# Fits ZSSR to a sample photo that ships with scikit-image and writes a x2 upscale (minutes on 2 cores: see README).
demo: $(STAMP)
	mkdir -p demo
	$(BIN)/zssr-deploy sample astronaut --size 96 -o demo/astronaut-96.png --overwrite
	$(BIN)/zssr-deploy fit-and-run demo/astronaut-96.png -o demo/astronaut-x2.png --scale 2 --seed 0 --overwrite
	@echo "wrote demo/astronaut-x2.png"

# The report tests open pages in a real browser: Debian's Chromium, installed here when missing.
browser:
	@command -v chromium >/dev/null || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  echo "make test: installing Debian's chromium with apt-get (needs root or sudo) for the report tests"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The tests' temporary files go to a folder of their own, removed afterwards (nothing left in /tmp).
test: $(STAMP) browser
	$(BIN)/ruff check zssr_deploy tests benchmarks
	@tmp=$$(mktemp -d /tmp/zt.XXXXXX); \
	  TMPDIR=$$tmp RAY_TMPDIR=$$tmp $(BIN)/python -m pytest -q --basetemp=$$tmp/pytest; status=$$?; \
	  rm -rf $$tmp; exit $$status

clean:
	rm -rf $(VENV) demo .pytest_cache
