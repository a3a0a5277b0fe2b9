# rtclab — the two commands a fresh machine needs are in the README:
#   go run ./cmd/rtclab run        the main job, on the embedded quickstart
#   make test                      every test, installing what the tests need
#
# `make test` installs the Debian packages the real-peer tests start (coturn,
# tshark, ffmpeg, nftables, postgresql, chromium, nginx, firefox-esr) when they are missing and it runs as root, then
# runs every test with RTCLAB_REQUIRE_PEERS=1 so a missing peer fails the run
# instead of skipping silently.

GO ?= go
DEB_PACKAGES := coturn tshark ffmpeg nftables iproute2 postgresql chromium nginx-light firefox-esr

.PHONY: test deps vet bench clips longcalls fuzz fuzz-smoke docs screenshots

# The 20-minute SFU calls (TestLongCall*, 8-9 s of wall each) and the
# one-hour call whose heap is sampled (TestLongRunHeap, 27 s of wall on a
# quiet machine) run here too: RTCLAB_LONG_CALLS=1, RTCLAB_HOUR_CALL=1.
# Without them (plain go test) they skip.
test: deps vet
	RTCLAB_REQUIRE_PEERS=1 RTCLAB_LONG_CALLS=1 RTCLAB_HOUR_CALL=1 $(GO) test -count=1 -timeout 30m ./...
	$(MAKE) fuzz-smoke

# Go fuzz targets, PACKAGE:TARGET, for every parser of outside input. Their
# seed corpora are committed under PACKAGE/testdata/fuzz/TARGET and run as
# ordinary tests in `go test`; fuzz-smoke (part of `make test`) fuzzes each
# for FUZZTIME, `make fuzz` for FUZZTIME_LONG. A crash's input is written
# to that corpus folder: fix the bug and commit the input with the fix.
FUZZ_TARGETS := \
	./scenarios:FuzzParse \
	./matrix:FuzzParseFile \
	./sweep:FuzzParseVary \
	./netem:FuzzParseTrace \
	./netem:FuzzIPPacket \
	./stack/signaling:FuzzServer \
	./stack/signaling:FuzzStripLocal \
	./stack/agent:FuzzGlareSDP \
	./stack/sdpfrag:FuzzParse \
	./stack/mdns:FuzzHandle \
	./stack/stunserver:FuzzServer \
	./stack/turn:FuzzServer \
	./stack/turn:FuzzFix \
	./stack/turn:FuzzFastPath \
	./diagnose:FuzzServerConfig \
	./diagnose:FuzzGrade \
	./diagnose:FuzzClientAddr \
	./diagnose:FuzzRankBody \
	./reproduce:FuzzReadResult \
	./history:FuzzParseResult \
	./history:FuzzCheckServers \
	./stack/testpeer:FuzzOffer \
	./seqnum:FuzzExtend \
	./verify:FuzzReadPcap \
	./verify:FuzzParseTshark \
	./stack/sframe:FuzzDecrypt \
	./runner:FuzzTURNPeerAddresses \
	./stack/agent:FuzzUnescape \
	./probes:FuzzWireAdd
FUZZTIME ?= 3s
FUZZTIME_LONG ?= 10m

fuzz-smoke:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t#*:} in $${t%%:*} for $(FUZZTIME)"; \
	  $(GO) test -count=1 -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2s "$${t%%:*}"; \
	done

fuzz:
	$(MAKE) fuzz-smoke FUZZTIME=$(FUZZTIME_LONG)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (run 'make deps' as root; real-peer tests will fail)"; \
	  fi; \
	fi

# The long calls alone, verbose: the 20-minute calls through the SFU
# (8-9 s of wall each) and the one-hour call whose heap is sampled (27 s).
longcalls:
	RTCLAB_LONG_CALLS=1 RTCLAB_HOUR_CALL=1 $(GO) test -count=1 -timeout 40m -run 'TestLongCall|TestLongRunHeap' -v ./runner

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clips:
	bash testdata/make-clips.sh

# The README's worked example and the quickstart plots under docs/img, from
# this build (TestREADMEQuickstart checks them in `make test`), then the
# screenshots of every HTML output.
docs:
	$(GO) test -count=1 -run '^TestREADMEQuickstart$$' . -update
	$(MAKE) screenshots

# Headless Chromium screenshots of each HTML output into docs/img.
screenshots:
	bash scripts/screenshots.sh
