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

# vercel-build proves the Vercel deployment with Vercel's own CLI, offline
# and with no account: `vercel build` (vercel@60.1.3, the newest that
# installs from this registry; it bundles the Go builder) on a copy of the
# working tree — the Go builder rewrites go.mod and go.sum in place while it
# builds —, then TestVercelBuildOutput checks the routes, the cron and the
# two functions it made. The builder runs `go mod tidy` after adding an
# import of go-bridge, whose latest version the Go proxy will not list: the
# module cache answers first, holding the pinned one. It uses the local Go
# only if its version is exactly the one it maps go.mod's to. Not in `make
# test` (its npm tree is 358 MB); the output is kept in .tools/vercel/output.
VERCEL_CLI = 60.1.3
VERCEL_GO_BRIDGE = github.com/vercel/go-bridge@v0.0.0-20221108222652-296f4c6bdb6d
.PHONY: vercel-build
vercel-build:
	@if [ "$$(node -p "require('./.tools/vercel/node_modules/vercel/package.json').version" 2>/dev/null)" != "$(VERCEL_CLI)" ]; then \
		npm install --prefix .tools/vercel --save-exact --no-audit --no-fund --loglevel=error vercel@$(VERCEL_CLI); \
	fi
	@set -eu; work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	mkdir "$$work/src" "$$work/tmp"; \
	git ls-files -z -co --exclude-standard | tar --null -T - --ignore-failed-read -cf - | tar -xf - -C "$$work/src"; \
	rm -rf "$$work/src/.vercel"; mkdir "$$work/src/.vercel"; \
	echo '{"projectId":"prj_offline","orgId":"team_offline","settings":{}}' > "$$work/src/.vercel/project.json"; \
	(cd "$$work/src" && go mod download $(VERCEL_GO_BRIDGE)); \
	start=$$(date +%s); \
	(cd "$$work/src" && TMPDIR="$$work/tmp" GOTOOLCHAIN=local VERCEL_TELEMETRY_DISABLED=1 \
		GOPROXY="file://$$(go env GOMODCACHE)/cache/download,https://proxy.golang.org" \
		"$(CURDIR)/.tools/vercel/node_modules/.bin/vercel" build --yes); \
	echo "vercel build: $$(( $$(date +%s) - start )) s"; \
	VERCEL_BUILD_DIR="$$work/src" go test -count=1 -v -run '^TestVercelBuildOutput$$' ./pkg/vercelfn; \
	rm -rf .tools/vercel/output; cp -r "$$work/src/.vercel/output" .tools/vercel/output

# netlify-build builds the Netlify functions as Netlify does — netlify-cli's
# own bundler, offline, with the local Go — then checks both zips and runs
# the built api and reconcile bootstraps on real events (pkg/netlifyfn's
# TestNetlifyBuildOutput). A make target, not part of .ci/run: netlify-cli
# is 420 MB of node_modules. 26.2.0 is the last netlify-cli for Node 20.
# The build's output is in .netlify/ (ignored); the catalog copy its build
# command made is removed after.
NETLIFY_CLI = 26.2.0
.PHONY: netlify-build
netlify-build:
	@if [ "$$(node -p "require('./.tools/netlify/node_modules/netlify-cli/package.json').version" 2>/dev/null)" != "$(NETLIFY_CLI)" ]; then \
		start=$$(date +%s); \
		npm install --prefix .tools/netlify --save-exact --no-audit --no-fund --loglevel=error netlify-cli@$(NETLIFY_CLI); \
		echo "netlify-cli install: $$(( $$(date +%s) - start )) s"; \
	fi
	@set -eu; trap 'rm -f pkg/hosted/shipped/catalog/catalog.json' EXIT; start=$$(date +%s); \
	NETLIFY_TELEMETRY_DISABLED=1 GOTOOLCHAIN=local .tools/netlify/node_modules/.bin/netlify build --offline; \
	echo "netlify build: $$(( $$(date +%s) - start )) s"; \
	ls -l .netlify/functions/api.zip .netlify/functions/reconcile.zip; \
	NETLIFY_BUILD_DIR="$(CURDIR)" go test -count=1 -v -run '^TestNetlifyBuildOutput$$' ./pkg/netlifyfn
