# caddy-mcp-jwe-auth: build, run the demo, test.
# The two commands a newcomer needs: `make run` and `make test`.

GO        ?= go
# PIPESTATUS in the fuzz loop.
SHELL     := /bin/bash
BIN       := $(CURDIR)/bin
CADDY     := $(BIN)/caddy
WHOAMI    := $(BIN)/whoami
KEYS_DIR  ?= .keys
PORT      ?= 8080
FUZZTIME  ?= 60s
FUZZSMOKE := 3s
# The packages with fuzz targets and benchmarks: the handler, the token core
# and the per-operation rules.
GO_PKGS   := . ./internal/jose ./internal/mcpauthz
# The packages `make fuzz` fuzzes (FUZZ_PKGS=... to choose). The smoke run of
# `make test` leaves out the root package: fuzzing it first builds all of
# Caddy with coverage instrumentation (minutes on a cold cache), and its seed
# corpus runs as ordinary tests in `go test` anyway.
FUZZ_PKGS ?= $(GO_PKGS)
FUZZSMOKE_PKGS := ./internal/jose ./internal/mcpauthz
# The interpreter of the Python verification example: the system's, where
# the Debian package python3-jwcrypto installs the library.
PYTHON    ?= /usr/bin/python3

# Tests keep Caddy's autosave and storage out of the user's home.
TEST_HOME := $(CURDIR)/bin/test-home
TEST_ENV  := XDG_CONFIG_HOME=$(TEST_HOME)/config XDG_DATA_HOME=$(TEST_HOME)/data CADDY_BIN=$(CADDY) WHOAMI_BIN=$(WHOAMI)

.PHONY: build run keys test test-python lint bench loadbench loadbench-smoke fuzz xcaddy clean

## build: the custom Caddy (standard modules + mcp_jwe_auth + `caddy mcp-keys`) and the demo MCP server
build:
	@[ -x $(CADDY) ] || echo "First build: Go downloads Caddy and its dependencies and compiles them into $(CADDY) and $(WHOAMI)." \
		"This takes about 1 to 3 minutes, depending on the machine and the network; later builds take seconds."
	$(GO) build -o $(CADDY) ./cmd/caddy
	$(GO) build -o $(WHOAMI) ./examples/whoami

## keys: development keys in $(KEYS_DIR), made only when there are none
keys: build
	@if [ -f $(KEYS_DIR)/mcp-private.json ]; then \
		echo "using the development keys in $(KEYS_DIR)"; \
	else \
		$(CADDY) mcp-keys generate -o $(KEYS_DIR); \
	fi

## run: the demo MCP server behind Caddy with Caddyfile.example, on http://127.0.0.1:$(PORT) (MCP_PORT: the demo server's port, default 9000)
run: keys
	@CADDY=$(CADDY) WHOAMI=$(WHOAMI) KEYS_DIR=$(KEYS_DIR) PORT=$(PORT) ./examples/run-demo.sh

## test: formatting, vet, every test (with a race run of the module and its integration tests), smoke runs of load and fuzzing
test: build lint
	@mkdir -p $(TEST_HOME)
	$(TEST_ENV) $(GO) test -count=1 ./...
	$(TEST_ENV) $(GO) test -count=1 -race . ./integration
	$(GO) run ./examples/loadbench -caddy $(CADDY) -smoke
	$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZSMOKE) FUZZ_PKGS="$(FUZZSMOKE_PKGS)"
	@$(PYTHON) -c 'import jwcrypto' 2>/dev/null || echo "not run: the Python identity verification example needs jwcrypto (apt-get install python3-jwcrypto), then: make test-python"

## test-python: the Python identity verification example (examples/identity_verify.py) against a real Caddy; needs python3-jwcrypto
test-python: build
	@mkdir -p $(TEST_HOME)
	$(TEST_ENV) PYTHON=$(PYTHON) $(GO) test -count=1 -tags pythonverify -run TestPythonIdentityVerify ./examples/whoami

## lint: gofmt and go vet
lint:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...

## bench: Go benchmarks of the verifier, the cache and ServeHTTP
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s $(GO_PKGS)

## loadbench: the HTTP load benchmark of docs/benchmarks.md
loadbench: build
	$(GO) run ./examples/loadbench -caddy $(CADDY)

## loadbench-smoke: a few seconds of the load benchmark, every answer must be 200
loadbench-smoke: build
	$(GO) run ./examples/loadbench -caddy $(CADDY) -smoke

## fuzz: each fuzz target of each package for FUZZTIME (default 60s); `make test` runs those of $(FUZZSMOKE_PKGS) for $(FUZZSMOKE) each
# Go's fuzzer can end a run whose time is up with a bare "context deadline
# exceeded" and no failing input (a race of its own deadline with a worker);
# such a run is tried once more. A run that found a failing input fails.
fuzz:
	@log=$$(mktemp); trap 'rm -f $$log' EXIT; \
	for pkg in $(FUZZ_PKGS); do \
		targets=$$($(GO) test -list '^Fuzz' $$pkg) || { echo "$$targets"; exit 1; }; \
		for target in $$(echo "$$targets" | grep '^Fuzz'); do \
			for try in 1 2; do \
				echo "== $$pkg $$target"; \
				if $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s $$pkg 2>&1 | tee $$log; \
					[ $${PIPESTATUS[0]} -eq 0 ]; then break; fi; \
				if [ $$try -eq 1 ] && grep -q 'context deadline exceeded' $$log && ! grep -q 'Failing input written' $$log; then \
					echo "== $$pkg $$target: the fuzzer's deadline, not a finding; once more"; continue; \
				fi; \
				exit 1; \
			done; \
		done; \
	done

## xcaddy: build with xcaddy and check the module and subcommand are present
# The explicit pseudo-version pins the local replacement: without it xcaddy runs
# `go get <module>` (latest), which asks the module proxy for a module that is
# not published and fails on any answer but 404/410.
XCADDY_MODULE := github.com/fhswf/caddy-mcp-jwe-auth@v0.0.0-00010101000000-000000000000
# It needs the network: `go install` fetches xcaddy, and xcaddy builds in a
# fresh module of its own (go get, go mod tidy) that fetches Caddy's modules.
XCADDY_OFFLINE := make xcaddy needs the network: it installs xcaddy, and xcaddy runs go get and go mod tidy in a fresh module that downloads Caddy's modules; if the error above is a network error, retry online (or with GOPROXY set to a reachable module proxy)
xcaddy:
	@mkdir -p $(BIN)
	@echo "installing xcaddy v0.4.5 into $(BIN) (needs the network)"
	@GOBIN=$(BIN) $(GO) install github.com/caddyserver/xcaddy/cmd/xcaddy@v0.4.5 || { echo "$(XCADDY_OFFLINE)" >&2; exit 1; }
	@echo "building $(BIN)/caddy-xcaddy with xcaddy (needs the network; 2 to 3 minutes with a cold build cache)"
	@cd $(BIN) && $(BIN)/xcaddy build --output $(BIN)/caddy-xcaddy --with $(XCADDY_MODULE)=$(CURDIR) || { echo "$(XCADDY_OFFLINE)" >&2; exit 1; }
	$(BIN)/caddy-xcaddy list-modules | grep -qx 'http.handlers.mcp_jwe_auth'
	$(BIN)/caddy-xcaddy mcp-keys --help >/dev/null
	@echo "xcaddy build lists http.handlers.mcp_jwe_auth and runs mcp-keys"

clean:
	rm -rf $(BIN)
