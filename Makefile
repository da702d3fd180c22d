# twinbot: `make run` and `make test` each set up .venv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PACKAGES := bot adapters storage jobs config

.PHONY: venv run test lint bench messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/twinbot run

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check $(PACKAGES) tests bench
	$(VENV)/bin/mypy $(PACKAGES)

bench: $(STAMP)
	$(PY) bench/core_throughput.py
	$(PY) bench/language.py
	$(PY) bench/broadcast.py
	$(PY) bench/reminders.py
	$(PY) bench/survey_report.py
	$(PY) bench/rsvp.py
	$(PY) bench/matching.py
	$(PY) bench/scale.py

# Refresh the message catalogs after changing member-facing strings.
messages: $(STAMP)
	$(VENV)/bin/pybabel extract --no-location --omit-header -k N_ -o bot/locale/twinbot.pot bot
	$(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete -w 76 -d bot/locale -D twinbot -i bot/locale/twinbot.pot

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
