# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 5000

.PHONY: run demo-reset test install lint clean-instance messages catalogs

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Languages (README, "Languages"): `make messages` extracts every translatable
# message into giveaway/translations/messages.pot and brings each locale's
# catalog up to it; `make catalogs` compiles the catalogs (.mo files are built,
# never committed: install and the test command compile them).
messages: $(VENV)/.installed
	$(BIN)/python -m giveaway.i18n.catalogs extract
	$(BIN)/python -m giveaway.i18n.catalogs update
	$(BIN)/python -m giveaway.i18n.catalogs coverage

catalogs: $(VENV)/.installed
	$(BIN)/python -m giveaway.i18n.catalogs compile

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed
	$(BIN)/python -m giveaway.i18n.catalogs compile

instance/settings.py:
	mkdir -p instance
	printf 'SECRET_KEY = "%s"\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(48))')" > $@

# Set up, build the demo database (SQLite in instance/) the first time, and serve on
# http://localhost:$(PORT). Later runs keep the demo (claims, keys, the admin's
# authenticator entry); `make demo-reset` starts it over. Emailed links and the
# security keys' origin follow the port (GIVEAWAY_BASE_URL).
RUN_ENV := GIVEAWAY_SETTINGS=instance/settings.py GIVEAWAY_BASE_URL=http://localhost:$(PORT)

run: install instance/settings.py
	$(RUN_ENV) $(BIN)/giveaway demo
	$(RUN_ENV) $(BIN)/flask --app wsgi run --port $(PORT)

# Replace the demo database with a new one (new data, new admin TOTP secret).
demo-reset: install instance/settings.py
	$(RUN_ENV) $(BIN)/giveaway demo --reset

# Set up (virtualenv, Chromium, services) and run the whole test suite.
test: install node_modules/.installed
	scripts/test.sh

lint: install
	$(BIN)/ruff check giveaway tests bench
