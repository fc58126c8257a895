# One way in. `make help` lists the targets; each is one script in scripts/.
.DEFAULT_GOAL := help
.PHONY: help run run-tls test ci sanitize valgrind bench instr bench-tls fuzz api-fuzz cluster cluster-test docs check-deploy check-prometheus browser dist check-package image check-image

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## build a release binary and serve :3000 with the mock on :3001
	./scripts/run.sh

run-tls: ## the same over HTTPS: the mock serves TLS with a throwaway CA
	./scripts/run.sh --tls

test: ## the whole test suite, against the release binaries
	./scripts/test.sh

ci: ## what CI runs on a fresh clone (about 12 minutes)
	./.ci/run

sanitize: ## the test suite under AddressSanitizer
	./scripts/check/sanitize.sh address

valgrind: ## the release binary under valgrind: pooled GETs, hostile peers, TLS
	./scripts/check/valgrind.sh

bench: ## load tests with wrk (SECTIONS="health users", DURATION=5)
	./scripts/bench.sh $(SECTIONS)

instr: ## instructions per request under callgrind
	./scripts/bench.sh instr

bench-tls: ## what TLS to the upstream costs against plain HTTP
	./scripts/bench.sh tls

fuzz: ## the JSON parser, differential fuzzing for FUZZ_SECONDS (60)
	./scripts/check/fuzz-json.sh $(or $(FUZZ_SECONDS),60)

api-fuzz: ## schemathesis against a live service and its OpenAPI document
	./scripts/check/api-fuzz.sh

cluster: ## three instances behind HAProxy on :8080 (scripts/cluster.sh stop ends it)
	./scripts/cluster.sh 3

cluster-test: ## rolling restart and SIGKILL under load, no failed request
	./scripts/cluster/test.sh

docs: ## regenerate what docs/ feeds into the code and assets
	./scripts/dev/generate-openapi.sh
	./scripts/dev/render-diagram.sh

check-deploy: ## the systemd unit and the Kubernetes files checked
	./scripts/check/deploy-files.sh

check-prometheus: ## the alert rules and their unit tests, and a live /metrics, with promtool
	./scripts/check/prometheus.sh

browser: ## the status page in headless Chromium (SCREENSHOT=assets/status-open.png to redo it)
	./scripts/check/browser.sh $(if $(SCREENSHOT),--screenshot $(SCREENSHOT))

dist: ## the release tarball and .deb in dist/ (the Swift runtime inside the binary)
	./scripts/package.sh

check-package: ## the tarball's binary with the toolchain hidden; the .deb installed, run, removed
	./scripts/check/package.sh

image: ## the container image localhost/event-service:<version> (podman, FROM scratch)
	./scripts/image.sh

check-image: ## the image built, run, probed, drained with SIGTERM; non-root, at most 40 MB
	./scripts/check/image.sh
