# make test: the whole suite, race detector on, integration suites required.
# make bench: the benchmarks, including the heavy ones.
GO ?= go

.PHONY: test bench fuzz vet

test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Each fuzz target for 20 seconds.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzEmail -fuzztime 20s ./internal/check
	$(GO) test -run '^$$' -fuzz FuzzUsername -fuzztime 20s ./internal/check
	$(GO) test -run '^$$' -fuzz FuzzPasswordPolicy -fuzztime 20s ./accessctl

vet:
	$(GO) vet ./...
