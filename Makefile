# spectral-audit — the two commands a new user needs are `make demo` and `make test`.
# Both install the Debian packages that are missing (as root, or through sudo) first.

SWIFT        ?= swift
PREFIX       ?= /usr/local
APT_PACKAGES := libhdf5-dev libopenblas-dev liblapacke-dev libssl-dev zlib1g-dev pkg-config
DEMO_MODEL   := fixtures/models/cnn.h5
BIN          := .build/release/spectral-audit
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: all deps build release demo test bench install uninstall man-lint fuzz clean

all: release

## deps: install the system libraries the package links (libhdf5, OpenBLAS + LAPACKE, libcrypto)
deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --product spectral-audit

## demo: build in release mode and audit a real Keras CNN shipped in fixtures/
demo: release
	$(BIN) $(DEMO_MODEL) --threshold 50

## test: the whole test suite (unit, reference values, end-to-end on the built binary)
test: deps
	$(SWIFT) build --product spectral-audit
	$(SWIFT) test

## bench: spectral-audit vs numpy / WeightWatcher on BERT, VGG, TinyLlama-shaped inputs -> bench/RESULTS.md
##        (bench/bench_spectra.py: the singular-value micro-benchmark; never part of `make test`)
bench: deps
	$(SWIFT) build -c release --product spectral-audit
	$(SWIFT) build -c release --product spectral-bench
	python3 bench/run_bench.py

install: release
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/spectral-audit
	install -m 0644 man/spectral-audit.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/spectral-audit-formats.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 man/spectral-audit-metrics.7 $(DESTDIR)$(PREFIX)/share/man/man7/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/spectral-audit $(DESTDIR)$(PREFIX)/share/man/man1/spectral-audit.1 \
	  $(DESTDIR)$(PREFIX)/share/man/man5/spectral-audit-formats.5 $(DESTDIR)$(PREFIX)/share/man/man7/spectral-audit-metrics.7

man-lint:
	for m in man/*.[157]; do groff -man -ww -z $$m; done

clean:
	rm -rf .build
