# vigil — the two commands a newcomer needs are `make run` and `make test`.
#
#   make build   install missing build dependencies, build build/vigil
#   make run     build (the dashboard too), fetch the sample video and the default model, run
#                every stage on it (dashboard and API on http://127.0.0.1:8080/)
#   make web     build the dashboard (web/: npm ci, vite build into web/dist)
#   make test    build (-Werror, plus vigil-fault: -DVIGIL_FAULT_INJECTION=ON), fetch
#                models and the test-only reference tools (TF.js in Node, ONNX Runtime in a
#                venv, under ~/.cache/vigil), run every test, then the unit, conformance, e2e
#                and vigil-nn integration tests again under ASan+UBSan, the threaded ones
#                under TSan (build-tsan, ctest -L tsan), then a clang tree (build-clang,
#                -Werror, everything built, ctest -L unit); fails when a suite
#                was skipped (VIGIL_ALLOW_SKIP=kafka lets a machine without Kafka's JDK skip
#                Kafka; never under CI). docs/testing.md
#   make bench   build and run the benchmarks in bench/ (the analytics part installs its
#                peers, motmetrics, trackers and supervision, in a venv under ~/.cache/vigil;
#                the API part FastAPI + uvicorn there too, and wrk)
#   make docs    regenerate docs/configuration.md from the property table

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
CLANG_BUILD ?= build-clang
JOBS       ?= $(shell nproc)
HTTP       ?= 127.0.0.1:8080
DATA_DIR   ?= data
CTEST_ARGS ?=

.PHONY: all build run test bench docs deps deps-test media models web clean format

all: build

deps:
	@scripts/setup.sh build

deps-test:
	@scripts/setup.sh test

media:
	@scripts/setup.sh media >/dev/null

web:
	@scripts/setup.sh web

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_WERROR=ON

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

models: build
	@$(BUILD)/vigil models fetch

run: build web media models
	$(BUILD)/vigil run --source sample --http $(HTTP) --data-dir $(DATA_DIR)

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=ON -DVIGIL_WERROR=ON

$(TSAN_BUILD)/build.ninja:
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIGIL_TSAN=ON -DVIGIL_WERROR=ON

# Portability (docs/deploy.md): the same sources under clang, warnings as errors.
$(CLANG_BUILD)/build.ninja:
	CC=clang cmake -S . -B $(CLANG_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVIGIL_WERROR=ON

test: deps-test media $(BUILD)/build.ninja $(ASAN_BUILD)/build.ninja $(TSAN_BUILD)/build.ninja \
      $(CLANG_BUILD)/build.ninja
	cmake -S . -B $(BUILD) -DVIGIL_FAULT_INJECTION=ON >/dev/null
	cmake -S . -B $(ASAN_BUILD) -DVIGIL_FAULT_INJECTION=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	$(BUILD)/vigil models fetch
	scripts/ref/setup.sh
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS) \
	  --output-junit ctest-junit.xml $(CTEST_ARGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure --no-tests=error -j $(JOBS) -L 'unit|conformance|e2e' \
	  --output-junit ctest-junit.xml $(CTEST_ARGS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure --no-tests=error -R 'nn_conformance|nn_reference' \
	  --output-junit ctest-junit-nn.xml $(CTEST_ARGS)
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target tsan_tests
	cd $(TSAN_BUILD) && TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp second_deadlock_stack=1" \
	  ctest --output-on-failure --no-tests=error -j $(JOBS) -L tsan \
	  --output-junit ctest-junit.xml $(CTEST_ARGS)
	cmake --build $(CLANG_BUILD) -j $(JOBS)
	cd $(CLANG_BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS) -L unit \
	  -E '^web_checks$$' --output-junit ctest-junit.xml $(CTEST_ARGS)
	tests/check_skips.py $(BUILD)/ctest-junit.xml $(ASAN_BUILD)/ctest-junit.xml \
	  $(ASAN_BUILD)/ctest-junit-nn.xml $(TSAN_BUILD)/ctest-junit.xml $(CLANG_BUILD)/ctest-junit.xml
	@echo "make test: all suites passed"

bench: build media models
	$(BUILD)/bench_pipeline
	BUILD=$(BUILD) bench/nn.sh
	bench/kafka.sh $(BUILD)
	BUILD=$(BUILD) bench/analytics.sh
	BUILD=$(BUILD) bench/api.sh
	BUILD=$(BUILD) bench/store.sh
	BUILD=$(BUILD) bench/search.sh
	BUILD=$(BUILD) bench/dashboard.sh

docs: build
	$(BUILD)/vigil config docs > docs/configuration.md

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(CLANG_BUILD)
