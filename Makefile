# make test:  the whole suite: gofmt, go vet, staticcheck and the go.mod
#             tidiness check, then go test -race on every package, with the
#             PostgreSQL and Redis integration suites required, and the
#             four-eyes attacker's game, without -race (too slow under it).
# make bench: every benchmark, the heavy ones (a million end users) included.
# make fuzz:  each fuzz target for a while.
# make screenshots: the console's screenshots in docs/screenshots, redrawn.
GO ?= go
export BACKOFFICE_REQUIRE_INTEGRATION = 1

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: test check bench fuzz fuzz-smoke vet servers screenshots

test: check servers fuzz-smoke
	$(GO) test -race -count=1 ./...
	$(GO) test -count=1 -run '^TestAttackersGame$$' ./accessctl
	cd bench && $(GO) test -count=1 ./...

# fuzz-smoke runs every fuzz target for a moment, beyond its seed corpus
# (which go test runs anyway): a bounded fuzz run in every make test. Its
# budgets are counts of executions, not durations: with a duration, Go 1.26's
# fuzz coordinator can report its own deadline as a failure of the target
# ("context deadline exceeded", go.dev/issue/75804, fixed in Go 1.27), which
# failed a CI run; a count has no deadline to race. FuzzVerify hashes a
# password on every execution, hence its smaller count.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=5000x FUZZTIME_SLOW=150x

# check fails on unformatted files, vet or staticcheck findings, and a
# go.mod or go.sum that go mod tidy would change.
check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt -l finds unformatted files:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) mod tidy -diff
	cd bench && $(GO) vet ./... && $(GO) mod tidy -diff

bench: servers
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...
	cd bench && $(GO) test -run '^$$' -bench . -benchmem ./...

# Installs PostgreSQL (with contrib, for pg_trgm), Redis, Chromium (for
# the console's browser tests) and rsyslog with its TLS driver (for the
# syslog sink's test) from Debian's packages when their programs are
# missing. The tests start their own throwaway servers and browsers;
# nothing is left running.
servers:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1 \
		|| ! ls /usr/share/postgresql/*/extension/pg_trgm.control >/dev/null 2>&1 \
		|| ! command -v redis-server >/dev/null 2>&1 \
		|| ! command -v redis-cli >/dev/null 2>&1 \
		|| ! command -v chromium >/dev/null 2>&1 \
		|| ! { command -v haproxy >/dev/null 2>&1 || test -x /usr/sbin/haproxy; } \
		|| ! { command -v rsyslogd >/dev/null 2>&1 || test -x /usr/sbin/rsyslogd; } \
		|| ! ls /usr/lib/*/rsyslog/lmnsd_gtls.so >/dev/null 2>&1; then \
		echo "installing postgresql, postgresql-contrib, redis-server (with redis-tools' redis-cli), chromium, haproxy, rsyslog and rsyslog-gnutls"; \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq \
			postgresql postgresql-contrib redis-server redis-tools chromium haproxy rsyslog rsyslog-gnutls >/dev/null; \
	fi

# screenshots redraws docs/screenshots from the console's browser test.
screenshots: servers
	BACKOFFICE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(GO) test -count=1 -run '^(TestInTheBrowser|TestSSOInTheBrowser|TestComplianceInTheBrowser|TestSAMLInTheBrowser|TestPasskeysInTheBrowser)$$' ./examples/adminapi/console

FUZZTIME ?= 20s
FUZZTIME_SLOW ?= $(FUZZTIME)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzEmail$$' -fuzztime $(FUZZTIME) ./internal/check
	$(GO) test -run '^$$' -fuzz '^FuzzUsername$$' -fuzztime $(FUZZTIME) ./internal/check
	$(GO) test -run '^$$' -fuzz '^FuzzUSTIN$$' -fuzztime $(FUZZTIME) ./internal/check
	$(GO) test -run '^$$' -fuzz '^FuzzCountry$$' -fuzztime $(FUZZTIME) ./internal/check
	$(GO) test -run '^$$' -fuzz '^FuzzPhone$$' -fuzztime $(FUZZTIME) ./internal/check
	$(GO) test -run '^$$' -fuzz '^FuzzPolicy$$' -fuzztime $(FUZZTIME) ./accessctl/password
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME_SLOW) ./accessctl/password
	$(GO) test -run '^$$' -fuzz '^FuzzParseToken$$' -fuzztime $(FUZZTIME) ./accessctl
	$(GO) test -run '^$$' -fuzz '^FuzzVerifyTOTP$$' -fuzztime $(FUZZTIME) ./accessctl
	$(GO) test -run '^$$' -fuzz '^FuzzInviteOperator$$' -fuzztime $(FUZZTIME) ./accessctl
	$(GO) test -run '^$$' -fuzz '^FuzzTenantPolicy$$' -fuzztime $(FUZZTIME) ./accessctl
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeCursor$$' -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzDiff$$' -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzAuditChain$$' -fuzztime $(FUZZTIME) .
	$(GO) test -run '^$$' -fuzz '^FuzzCreate$$' -fuzztime $(FUZZTIME) ./enduser
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./examples/adminapi/jsonapi
	$(GO) test -run '^$$' -fuzz '^FuzzWebhookSecret$$' -fuzztime $(FUZZTIME) ./events
	$(GO) test -run '^$$' -fuzz '^FuzzAppendString$$' -fuzztime $(FUZZTIME) ./examples/adminapi/jsonapi
	$(GO) test -run '^$$' -fuzz '^FuzzAppendedAsEncodingJSON$$' -fuzztime $(FUZZTIME_SLOW) ./examples/adminapi/jsonapi
	$(GO) test -run '^$$' -fuzz '^FuzzFilter$$' -fuzztime $(FUZZTIME) ./accessctl/scim
	$(GO) test -run '^$$' -fuzz '^FuzzPatch$$' -fuzztime $(FUZZTIME) ./accessctl/scim

vet:
	$(GO) vet ./...
