# jampay. The two commands that matter: `make dev` and `make test`.
#
# SAM builds each function with the makefile build method: `sam build` runs
# `make build-<LogicalId>` here with ARTIFACTS_DIR set. (SAM's go1.x builder
# expects a go.mod in each function's CodeUri; jampay has one go.mod at the
# root, so the makefile method is the one that works.)

GO_LAMBDA = GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags "-s -w" -buildvcs=false
FUNCTIONS = checkout webhook status reconcile notify

.PHONY: dev test build sizes clean lint

dev: ## run the shop locally: no keys, no AWS, no npm
	go run ./cmd/jampay serve

test: ## every test, on real components (DynamoDB Local, stripe-mock, Chromium)
	bash scripts/test.sh

lint: ## what sam validate --lint checks, without the SAM CLI
	cfn-lint template.yaml hosts/aws.yaml

build: ## the Linux arm64 bootstrap binaries SAM builds, in dist/, with their sizes
	@for fn in $(FUNCTIONS); do \
		mkdir -p dist/$$fn && $(GO_LAMBDA) -o dist/$$fn/bootstrap ./functions/$$fn || exit 1; \
	done
	@cp site/catalog.json dist/checkout/catalog.json
	@cp site/catalog.json dist/notify/catalog.json
	@cp site/catalog.json dist/reconcile/catalog.json
	@$(MAKE) --no-print-directory sizes

sizes:
	@printf '%-10s %10s  %s\n' function bytes MiB
	@for fn in $(FUNCTIONS); do \
		b=$$(wc -c < dist/$$fn/bootstrap); \
		printf '%-10s %10d  %s\n' $$fn $$b $$(awk "BEGIN{printf \"%.1f\", $$b/1048576}"); \
	done

build-CheckoutFunction:
	$(GO_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/checkout
	cp site/catalog.json $(ARTIFACTS_DIR)/catalog.json

build-WebhookFunction:
	$(GO_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhook

build-StatusFunction:
	$(GO_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/status

build-ReconcileFunction:
	$(GO_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/reconcile
	cp site/catalog.json $(ARTIFACTS_DIR)/catalog.json

# The mails name the shop: the catalog's shopName.
build-NotifyFunction:
	$(GO_LAMBDA) -o $(ARTIFACTS_DIR)/bootstrap ./functions/notify
	cp site/catalog.json $(ARTIFACTS_DIR)/catalog.json

clean:
	rm -rf .aws-sam dist .tools/logs artifacts

# hosted-catalog copies the shop's catalog where the Netlify and Vercel
# builds embed it (pkg/hosted/shipped): their functions ship as a binary
# alone. The hosts' build commands run it.
.PHONY: hosted-catalog
hosted-catalog:
	cp site/catalog.json pkg/hosted/shipped/catalog/catalog.json
