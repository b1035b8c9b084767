# Comptoir: `make up` runs the whole platform with demo data; `make test` runs every test.
# Everything runs on loopback; state lives in .local/, downloads in .cache/ (both ignored).

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
COMPTOIR := $(VENV)/bin/comptoir
ROLE ?= admin
PROVIDER ?=
RESERVATION ?=

.PHONY: help bootstrap up down status token pay seed topics test test-unit test-e2e lint lock clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

bootstrap: ## Install uv, the virtualenv and every Python package (idempotent)
	@bash ops/bootstrap.sh

up: bootstrap ## Install what is missing, start Kafka, PostgreSQL, Redis, stripe-mock, SMTP, collector and the four services, load demo data
	@$(COMPTOIR) up

down: ## Stop what `make up` started
	@$(COMPTOIR) down

status: ## Show what runs
	@$(COMPTOIR) status

token: ## Print a token: make token [ROLE=provider PROVIDER=<id>]
	@$(COMPTOIR) token --role $(ROLE) $(if $(PROVIDER),--provider $(PROVIDER),)

pay: ## Simulate Stripe's signed payment webhook: make pay RESERVATION=<id>
	@test -n "$(RESERVATION)" || { echo "usage: make pay RESERVATION=<id>"; exit 2; }
	@$(COMPTOIR) pay $(RESERVATION)

seed: ## Load the demo data into a running platform
	@$(COMPTOIR) seed

topics: ## Create the Kafka topics and their .dlq twins (PARTITIONS=3)
	@$(COMPTOIR) topics create $(if $(PARTITIONS),--partitions $(PARTITIONS),)

test: bootstrap ## Start the infrastructure, run every suite (SUITES="booking end-to-end" for some)
	@$(COMPTOIR) up --no-services
	@$(PY) ops/run_tests.py $(SUITES)

test-unit: bootstrap ## Unit tests only (no infrastructure needed)
	@for d in libs/common services/*; do $(PY) -m pytest -q $$d/tests/unit || exit 1; done

lint: bootstrap ## ruff and mypy
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/mypy libs/common/src services/*/src ops/src

lock: ## Re-pin requirements.txt from requirements.in
	@uv pip compile -q requirements.in -o requirements.txt

clean: bootstrap ## Stop everything, drop the databases and delete local state (keeps downloads in .cache)
	@$(COMPTOIR) purge
	@$(COMPTOIR) down
	rm -rf .local
