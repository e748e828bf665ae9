# jampay: two commands matter — `make dev` and `make test`.
.PHONY: dev test build sizes clean

dev: ## run the shop locally: no keys, no AWS, no npm
	go run ./cmd/jampay serve

test: ## every test, on real components (DynamoDB Local, stripe-mock, Chromium)
	bash scripts/test.sh

clean:
	rm -rf .aws-sam .tools/logs dist
