# spectral-audit — the two commands a new user needs are `make demo` and `make test`.
# Both install the Debian packages that are missing (as root, or through sudo) first.

SWIFT        ?= swift
PREFIX       ?= /usr/local
APT_PACKAGES := libhdf5-dev libopenblas-dev liblapacke-dev libssl-dev libdeflate-dev zlib1g-dev pkg-config
DEMO_MODEL   := fixtures/models/cnn.h5
BIN          := .build/release/spectral-audit
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: all deps build release demo test test-kernels bench bench-data bench-transformers install uninstall man-lint fuzz fuzz-build fuzz-replay fuzz-triage asan-hostile clean

all: release

## deps: install the system libraries the package links (libhdf5, OpenBLAS + LAPACKE, libcrypto, libdeflate, zlib)
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

## test-kernels: the whole suite once per OpenBLAS kernel family (KERNELS), to check on one machine
##               that no test assumes the CPU the goldens were recorded on (Intel picks SkylakeX,
##               AMD machines here run Haswell kernels). Developers only: CI runs `make test` with
##               the machine's own settings.
KERNELS ?= Haswell Sandybridge Prescott
test-kernels: deps
	$(SWIFT) build --product spectral-audit
	@set -e; for k in $(KERNELS); do echo "== OPENBLAS_CORETYPE=$$k"; OPENBLAS_CORETYPE=$$k $(SWIFT) test; done

## bench: spectral-audit vs numpy / WeightWatcher on BERT, VGG, TinyLlama-shaped inputs -> bench/RESULTS.md
##        (bench/bench_spectra.py: the singular-value micro-benchmark; never part of `make test`)
bench: deps
	$(SWIFT) build -c release --product spectral-audit
	$(SWIFT) build -c release --product spectral-bench
	python3 bench/run_bench.py
	$(MAKE) bench-speed
	$(MAKE) bench-data
	$(MAKE) bench-transformers

## bench-speed: issue 20 — exact weights-only audit vs the numpy SVD script and np.linalg.eigvalsh(A.T@A)
##              on MiniLM-shaped, the full MiniLM encoder, 2048² and 4096×1024, against the FLOP bound
##              from a measured dgemm rate -> section "Issue 20" of bench/RESULTS.md (2-4 minutes)
.PHONY: bench-speed
bench-speed: deps
	$(SWIFT) build -c release --product spectral-audit
	OPENBLAS_NUM_THREADS=1 python3 bench/bench_speed.py

## bench-data: the data audit vs PyTorch torch.func (MLP, fixture CNN, torchcrepe-tiny-sized CNN),
##             one thread, every shared number checked to 1e-6 -> bench/RESULTS.md (bench/bench_data.py --peer)
.PHONY: bench-data
bench-data: deps
	$(SWIFT) build -c release --product spectral-audit
	OPENBLAS_NUM_THREADS=1 python3 bench/bench_data.py --peer

## bench-transformers: weights-only transformer audits at LLM scale (TinyLlama- and Llama-7B-shaped
##        sharded bf16 folders written to BENCH_LLM_DATA, ~16 GB, never committed; the real MiniLM
##        folder when installed) against numpy / WeightWatcher -> bench/RESULTS.md (own section)
BENCH_LLM_DATA ?= /tmp/spectral-audit-llm
bench-transformers: deps
	$(SWIFT) build -c release --product spectral-audit
	python3 bench/bench_transformers.py --data $(BENCH_LLM_DATA)

## fuzz: build the libFuzzer targets (ASan, optimised) into .build-fuzz and run each for SECONDS
##       seconds or FUZZ_RUNS executions, whichever comes first (one at a time, niced); new crashes
##       land in .build-fuzz/artifacts/<target>/. FUZZ_TARGETS=npy make fuzz runs a subset.
##       The full campaign: make fuzz SECONDS=3600 FUZZ_RUNS=10000000. See fixtures/README-hostile.md.
FUZZ_SCRATCH ?= .build-fuzz
FUZZ_CONFIG  ?= release
FUZZ_BIN     := $(FUZZ_SCRATCH)/$(FUZZ_CONFIG)/spectral-fuzz
FUZZ_RUNS    ?= -1
FUZZ_TARGETS ?= npy npz safetensors safetensors-index keras-config manifest policy peft-adapter hdf5 hdf5-file gguf pytorch pytorch-pickle onnx recurrent
SECONDS      ?= 60
FUZZ_FLAGS   ?= -malloc_limit_mb=1024 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
# libhdf5 1.10 itself loops forever, crashes and mallocs absurd sizes on some corrupt files; the
# CLI contains that (preflight child + HDF5Watchdog: exit 65, fixtures/README-hostile.md). The
# `hdf5` (an image in a .keras zip) and `hdf5-file` (a file on disk) targets replay exactly that
# containment per input (a server process runs the probe and the loads; only a crash after a clean
# probe, or a hang the watchdog misses, is a finding), so they run like every other target. `hdf5-raw` (not in the default list) calls libhdf5 uncontained to
# hunt libhdf5's own bugs: fork mode, not stopping at timeouts or crashes; triage what it writes
# with `make fuzz-triage` (each must end in exit 65 through the CLI, never in a signal).
# libhdf5 also mallocs (without touching) up to gigabytes sized by corrupt metadata before it
# fails cleanly (a 27 KB file: 1.6 GB in H5C_protect, exit 65 at 36 MB RSS in the CLI): for the
# contained targets the limit that matters is RSS (-rss_limit_mb), so libFuzzer's malloc limit is
# raised there (our readers' own allocations are bounded by ReaderLimits, tested by the corpus).
FUZZ_HDF5_FLAGS ?= -malloc_limit_mb=8192
FUZZ_HDF5_RAW_FLAGS ?= -fork=1 -ignore_timeouts=1 -ignore_crashes=1 -ignore_ooms=1
# libhdf5's absurd mallocs fail and HDF5 reports an error (exit 65 in the CLI): ASan must return
# NULL there, as libc does. The CLI's preflight child caps its address space at the file's size +
# 4 GiB (RLIMIT_AS, which ASan cannot use), so any larger single malloc fails there: ASan's
# max_allocation_size_mb mirrors that cap (a 19 KB file: 8 GiB in H5C_protect under H5Fopen).
FUZZ_HDF5_ASAN  ?= allocator_may_return_null=1:max_allocation_size_mb=4096
ASAN_SCRATCH ?= .build-asan

fuzz-build: deps
	$(SWIFT) build -c $(FUZZ_CONFIG) --scratch-path $(FUZZ_SCRATCH) --product spectral-fuzz \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING

fuzz: fuzz-build
	@if command -v python3 >/dev/null; then python3 fixtures/hostile/fuzz/make_seeds.py $(FUZZ_SCRATCH)/corpus; \
	else echo "no python3: fuzzing from empty seed corpora"; fi
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_SCRATCH)/artifacts/$$t; \
	  echo "== fuzz $$t for $(SECONDS) s or $(FUZZ_RUNS) runs"; \
	  extra=""; asan=""; case $$t in hdf5|hdf5-file) extra="$(FUZZ_HDF5_FLAGS)"; asan="$(FUZZ_HDF5_ASAN)";; hdf5-raw) extra="$(FUZZ_HDF5_RAW_FLAGS)"; asan="$(FUZZ_HDF5_ASAN)";; esac; \
	  rc=0; SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=$$asan LSAN_OPTIONS=suppressions=$$PWD/fixtures/hostile/fuzz/lsan-suppressions.txt:print_suppressions=0 nice -n 10 $(FUZZ_BIN) $$t \
	      -max_total_time=$(SECONDS) -runs=$(FUZZ_RUNS) -artifact_prefix=$(FUZZ_SCRATCH)/artifacts/$$t/ $(FUZZ_FLAGS) $$extra \
	      $(FUZZ_SCRATCH)/corpus/$$t > $(FUZZ_SCRATCH)/fuzz-$$t.log 2>&1 || rc=$$?; \
	  if [ $$rc -ne 0 ] && [ "$$t" = hdf5-raw ] && grep -q '^INFO: exiting: ' $(FUZZ_SCRATCH)/fuzz-$$t.log; then \
	    echo "fuzz hdf5-raw: fork mode ended normally; its exit code $$rc is the last job's (a libhdf5 timeout/crash it was told to ignore)"; \
	    echo "               every artifact must still be contained by the CLI: make fuzz-triage"; rc=0; \
	  fi; \
	  if [ $$rc -ne 0 ]; then \
	    tail -40 $(FUZZ_SCRATCH)/fuzz-$$t.log; echo "fuzz $$t: FAILED (exit $$rc; reproducer in $(FUZZ_SCRATCH)/artifacts/$$t/)"; exit 1; \
	  fi; \
	  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' $(FUZZ_SCRATCH)/fuzz-$$t.log || \
	    grep -E '^#[0-9]+: cov' $(FUZZ_SCRATCH)/fuzz-$$t.log | tail -1; \
	done

## fuzz-triage: every artifact the fuzzer wrote for a file-format target (npy, npz, safetensors, pytorch,
##              onnx, gguf, hdf5, hdf5-raw) through the release CLI (`inspect --load-all FILE`: opened,
##              listed, every tensor read): each must exit 0/65/66, never die by a signal or hang. Formats
##              whose file carries a structure the audit builds a graph from (onnx, gguf, pytorch) are
##              also audited (`spectral-audit FILE`: exit 0/1/65/66).
##              TRIAGE_BIN=.build/debug/spectral-audit triages with the test build instead (CI does).
TRIAGE_BIN ?= $(BIN)
fuzz-triage: $(if $(filter $(BIN),$(TRIAGE_BIN)),release,)
	@fail=""; for t in npy npz safetensors hdf5 hdf5-file hdf5-raw pytorch onnx gguf; do \
	  for f in $(FUZZ_SCRATCH)/artifacts/$$t/*; do \
	    [ -f "$$f" ] || continue; rc=0; \
	    timeout 60 $(TRIAGE_BIN) inspect --load-all "$$f" >/dev/null 2>$(FUZZ_SCRATCH)/triage.err || rc=$$?; \
	    echo "$$t $$(basename $$f): exit $$rc: $$(head -c 160 $(FUZZ_SCRATCH)/triage.err)"; \
	    case $$rc in 0|65|66) ;; *) fail=1;; esac; \
	    case $$t in onnx|gguf|pytorch) rc=0; \
	      timeout 60 $(TRIAGE_BIN) "$$f" --quiet --no-progress >/dev/null 2>$(FUZZ_SCRATCH)/triage.err || rc=$$?; \
	      echo "$$t $$(basename $$f) (audit): exit $$rc: $$(head -c 160 $(FUZZ_SCRATCH)/triage.err)"; \
	      case $$rc in 0|1|65|66) ;; *) fail=1;; esac;; \
	    esac; \
	  done; \
	done; [ -z "$$fail" ] || { echo "fuzz-triage: some artifact was not contained"; exit 1; }

## fuzz-replay: run every committed crash reproducer (fixtures/hostile/fuzz/<target>/) once through
##              its target, plain build; exit 65 is the HDF5 watchdog ending a libhdf5 hang
fuzz-replay: deps
	$(SWIFT) build --product spectral-fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
	  for f in fixtures/hostile/fuzz/$$t/*; do \
	    [ -f "$$f" ] || continue; \
	    rc=0; .build/debug/spectral-fuzz $$t "$$f" >/dev/null 2>&1 || rc=$$?; \
	    case "$$rc:$$(basename $$f)" in \
	      0:*|65:*) echo "$$t $$f: exit $$rc";; \
	      *:libhdf5-*) echo "$$t $$f: exit $$rc (open libhdf5 issue, see fixtures/README-hostile.md)";; \
	      *) echo "$$t $$f: FAILED (exit $$rc)"; exit 1;; esac; \
	  done; \
	done

## asan-hostile: the hostile-corpus and fault end-to-end tests against an AddressSanitizer build
asan-hostile: deps
	$(SWIFT) build -c debug --scratch-path $(ASAN_SCRATCH) --product spectral-audit -Xswiftc -sanitize=address
	SPECTRAL_AUDIT_BIN=$$PWD/$(ASAN_SCRATCH)/debug/spectral-audit SPECTRAL_AUDIT_ASAN=1 SWIFT_BACKTRACE=enable=no \
	  ASAN_OPTIONS=allocator_may_return_null=1 \
	  LSAN_OPTIONS=suppressions=$$PWD/fixtures/hostile/fuzz/lsan-suppressions.txt:print_suppressions=0 \
	  $(SWIFT) test --filter EndToEndTests.Hostile

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
	rm -rf .build $(FUZZ_SCRATCH) $(ASAN_SCRATCH)
