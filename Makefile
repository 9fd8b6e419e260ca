# mnsim: thin wrapper around CMake. `make demo` and `make test` work on a fresh Debian 12 machine:
# they first install the Debian packages that are missing (apt-get; root or sudo).
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= 2
CMAKE_FLAGS ?=
PKGS = gcc make cmake pkg-config valgrind libyaml-dev libjansson-dev libplplot-dev plplot-driver-cairo \
       libhdf5-dev libxml2-dev libsundials-dev libsuitesparse-dev libical-dev \
       libcriterion-dev fonts-dejavu-core libpng-dev chromium libopenmpi-dev openmpi-bin time \
       groff-base
SOURCES = $(shell find src include tests bench -name '*.[ch]')

.PHONY: all deps build demo test check-long check-full test-asan fuzz bench bench-device bench-cheek install format format-check docs clean

all: build

deps:
	@missing=$$(for p in $(PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "mnsim: installing Debian packages:" $$missing; \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$sudo apt-get install -y -q --no-install-recommends $$missing >/dev/null || \
	  { $$sudo apt-get update -q >/dev/null && \
	    $$sudo apt-get install -y -q --no-install-recommends $$missing >/dev/null; } || exit 1; \
	fi

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/mnsim plan examples/patient-acne-scars.yaml -o out/demo
	@echo
	@echo "report: out/demo/report.html (open it in a browser; it prints)"
	@echo "also: out/demo/plan.json and the calendar out/demo/plan.ics"

# make test: the suite that runs in a few minutes; make check-long: the long checks (valgrind over
# the command line and the unit tests; the shipped calibration's targets at the nominal values and
# under the posterior; the kill-and-resume loop of tests/faults.sh). .ci/run runs both. make check-full: the checks that take tens of minutes
# (the calibration's reproduction, the patch example's 180 days against their checksums).
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE 'long|full'

check-long: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L long

check-full: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L full

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DMNSIM_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	# exit code 86 for every sanitizer report: mnsim's own runtime errors exit 1, which the tests of
	# error paths expect, so a report there must not look like one. Left out: the goldens and the
	# full checks (numbers), MPI (Open MPI's own allocations) and `calibration` (the shipped tables'
	# targets under 400 posterior draws: numbers again; validate's code runs here in cli.sh)
	cd $(ASAN_BUILD) && MNSIM_TEST_QUICK=1 ASAN_OPTIONS=detect_leaks=1:exitcode=86 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0:exitcode=86 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86 ctest --output-on-failure -j $(JOBS) \
	  -LE 'golden|full|mpi' -E '^calibration$$'

FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
fuzz: deps
	@command -v clang >/dev/null || { sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q clang libclang-rt-14-dev >/dev/null; }
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMNSIM_FUZZ=ON \
	  -DMNSIM_SANITIZE=ON -DMNSIM_WITH_OPENMP=OFF $(CMAKE_FLAGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_case fuzz_csv fuzz_atlas fuzz_catalogue fuzz_params \
	  fuzz_patient fuzz_rules fuzz_checkpoint
	@# two targets at a time (each is one process on one core), each for FUZZ_SECONDS
	@for pair in "case csv" "atlas catalogue" "params patient" "rules checkpoint"; do \
	  pids=""; \
	  for t in $$pair; do \
	    mkdir -p $(FUZZ_BUILD)/corpus-$$t; \
	    ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	    ./$(FUZZ_BUILD)/tests/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=20 \
	      -rss_limit_mb=4096 -print_final_stats=1 $(FUZZ_BUILD)/corpus-$$t tests/fuzz/corpus/$$t \
	      2>$(FUZZ_BUILD)/fuzz-$$t.log & \
	    pids="$$pids $$!"; \
	  done; \
	  set -- $$pair; \
	  for p in $$pids; do \
	    wait $$p || { tail -40 $(FUZZ_BUILD)/fuzz-$$1.log; echo "fuzz $$1 failed"; exit 1; }; \
	    printf 'fuzz %-10s ' $$1; grep -E 'stat::number_of_executed_units' $(FUZZ_BUILD)/fuzz-$$1.log; \
	    shift; \
	  done; \
	done

bench: build
	./$(BUILD)/bench_table --mnsim $(BUILD)/mnsim --patch examples/patch-5mm.yaml

bench-device: build
	./$(BUILD)/bench_device

# The whole cheek (issue 19): 40 x 30 mm at dx 20 um for 180 days, hours on 2 cores and 11.3 GB of
# fields (docs/performance.md, "Whole cheek"); resumable: `mnsim simulate --resume out/cheek`.
bench-cheek: build
	/usr/bin/time -v ./$(BUILD)/mnsim simulate --progress -o out/cheek bench/cheek-40x30.yaml 2>&1 | \
	  grep -v '^\s*\(Average\|Socket\|Signals\|Page size\|Swaps\|Exit status\)'

install: build
	cmake --install $(BUILD)

format:
	clang-format -i $(SOURCES)

format-check:
	clang-format --dry-run -Werror $(SOURCES)

docs: build
	./$(BUILD)/mnsim config --reference > docs/config.md
	./$(BUILD)/mnsim config --parameters > $(BUILD)/parameters.md
	awk -v t=$(BUILD)/parameters.md '/^<!-- end parameters/ {skip=0} !skip {print} \
	  /^<!-- parameters:/ {while ((getline l < t) > 0) print l; skip=1}' docs/model.md > docs/model.md.tmp
	mv docs/model.md.tmp docs/model.md
	(echo '```'; COLUMNS=200 ./$(BUILD)/mnsim validate || true; echo '```') > $(BUILD)/validate.md
	awk -v t=$(BUILD)/validate.md '/^<!-- end validate/ {skip=0} !skip {print} \
	  /^<!-- validate:/ {while ((getline l < t) > 0) print l; skip=1}' docs/validation.md > docs/validation.md.tmp
	mv docs/validation.md.tmp docs/validation.md
	awk '/^id +role/ {r = index($$0, "range"); print; next} /^```/ {next} \
	  /^(calibration|validation|input-check|acceptance) +[0-9]+ pass/ {s = s $$0 "\n"; next} \
	  /^[^ ]/ {head = $$0} /FAIL|not judged/ {print (/^ / ? substr(head, 1, r - 1) substr($$0, r) : $$0)} \
	  END {printf "\n%s", s}' $(BUILD)/validate.md > $(BUILD)/validate-failures.txt
	(echo '```'; cat $(BUILD)/validate-failures.txt; echo '```') > $(BUILD)/validate-failures.md
	awk -v t=$(BUILD)/validate-failures.md '/^<!-- end validate-failures/ {skip=0} !skip {print} \
	  /^<!-- validate-failures:/ {while ((getline l < t) > 0) print l; skip=1}' README.md > README.md.tmp
	mv README.md.tmp README.md

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) out
