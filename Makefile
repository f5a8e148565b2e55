# Portier: `make run` starts the stack, `make test` runs every test. Both install the system
# libraries they need first (Debian/Ubuntu, via apt-get), and skip that quickly when present.

SWIFT        ?= swift
CONFIG       ?= release
APT_PACKAGES := libjwt-dev libssl-dev libsqlite3-dev pkg-config
TEST_APT_PACKAGES := postgresql chromium chromium-driver
BIN          := .build/$(CONFIG)/portier

.PHONY: all deps test-deps apt-install build run test venv validate-k8s status-page-test contract-test fuzz bench format clean

all: build

## deps: install missing system packages (libjwt, OpenSSL, SQLite headers)
deps:
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(APT_PACKAGES)"

## test-deps: also the servers the tests start themselves (a throwaway PostgreSQL cluster)
test-deps: deps
	@$(MAKE) --no-print-directory apt-install PACKAGES="$(TEST_APT_PACKAGES)"

apt-install:
	@missing=""; \
	for package in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$package 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

## build: compile the portier binary
build: deps
	$(SWIFT) build -c $(CONFIG) --product portier

## run: build and start the whole stack (portier up): token server, gateway, five hotel services
run: build
	$(BIN) up

## test: build and run every test (unit tests and end-to-end tests over real sockets), then each
## fuzz target for FUZZ_TEST_SECONDS (default 5) so a parser regression fails CI
test: test-deps validate-k8s
	$(SWIFT) build --build-tests
	@# First the suites whose servers run in the test process, then HotelTests, which start whole
	@# stacks as child processes: run together on 2 cores, the children's load starved the
	@# in-process servers and unrelated tests hit their 120 s limits. Apart, each passes in 1-2 min.
	$(SWIFT) test --skip-build --skip HotelTests
	$(SWIFT) test --skip-build --filter HotelTests
	@$(MAKE) --no-print-directory status-page-test
	@$(MAKE) --no-print-directory contract-test
	FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) SWIFT=$(SWIFT) Fuzz/run.sh

# The Python tools the tests use, pinned, in one virtualenv of the project's own (PyPI):
# kubernetes-validate checks the manifests against the schemas of K8S_VERSION, strictly (a misspelt
# or misplaced field fails); selenium drives headless Chromium through the status page;
# openapi-spec-validator and schemathesis check the OpenAPI document and the running stack against it.
K8S_VERSION                 ?= 1.30.0
KUBERNETES_VALIDATE_VERSION := 1.37.0
SELENIUM_VERSION            := 4.40.0
OPENAPI_VALIDATOR_VERSION   := 0.9.0
SCHEMATHESIS_VERSION        := 4.32.5
PY_PACKAGES                 := kubernetes-validate==$(KUBERNETES_VALIDATE_VERSION) selenium==$(SELENIUM_VERSION) \
                               openapi-spec-validator==$(OPENAPI_VALIDATOR_VERSION) schemathesis==$(SCHEMATHESIS_VERSION)
VENV                        := .build-venv

## venv: install the pinned Python test tools into .build-venv (once; again when the pins change)
venv:
	@[ "$$(cat $(VENV)/.packages 2>/dev/null)" = "$(PY_PACKAGES)" ] || { \
	  echo "installing $(PY_PACKAGES) into $(VENV)"; \
	  python3 -m venv $(VENV) && $(VENV)/bin/pip install -q --disable-pip-version-check $(PY_PACKAGES) && \
	  echo "$(PY_PACKAGES)" > $(VENV)/.packages; }

## validate-k8s: check deploy/k8s/*.yaml against the Kubernetes API schemas
validate-k8s: venv
	$(VENV)/bin/kubernetes-validate --strict --quiet -k $(K8S_VERSION) deploy/k8s/*.yaml

## status-page-test: the gateway's status page in headless Chromium (breaker shown open within 2 s,
## a rejected routes.json shown with its message); STATUS_SCREENSHOT=file.png also saves a picture
status-page-test: test-deps venv
	$(SWIFT) build --product portier
	$(VENV)/bin/python tests/status_page.py .build/debug/portier

CONTRACT_EXAMPLES ?= 100

## contract-test: validate the OpenAPI document (openapi-spec-validator), then run schemathesis through
## the gateway of a stack of its own: CONTRACT_EXAMPLES cases per operation (default 100) and the
## linked sequences; any 5xx or answer the document does not describe fails (tests/contract.sh)
contract-test: test-deps venv
	$(SWIFT) build --product portier
	MAX_EXAMPLES=$(CONTRACT_EXAMPLES) VENV=$(VENV) tests/contract.sh

FUZZ_SECONDS      ?= 60
FUZZ_TEST_SECONDS ?= 5

## fuzz: build the libFuzzer targets (.build-fuzz) and run each for FUZZ_SECONDS (default 60) on a
## scratch copy of Fuzz/corpus; a crash fails and prints the input's path. FUZZ_TARGETS=Tokens picks some.
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) SWIFT=$(SWIFT) Fuzz/run.sh $(FUZZ_TARGETS)

## bench: the load benchmarks (wrk, nginx and haproxy from Debian) and the micro-benchmarks
bench: deps
	bench/token.sh
	bench/gateway.sh
	bench/booking.sh
	$(SWIFT) run -c release portier-micro

## format: format the tree with swift-format (.swift-format)
format:
	$(SWIFT) format --in-place --recursive --parallel Sources Tests Package.swift

clean:
	rm -rf .build
