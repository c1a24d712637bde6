# The two commands of the README:
#   make serve   install what vdisk needs, build it, and run it (kubeconfig in vdisk-data/)
#   make test    install what the tests need, then run every check and test
BUILD      ?= build
ASAN_BUILD ?= build-asan
SERVE_ARGS ?= --data-dir vdisk-data --listen 127.0.0.1:8443
PYTEST     := /usr/bin/python3 -m pytest

.PHONY: all deps test-deps build serve test format-check unit unit-asan e2e fuzz bench bench-import bench-upload bench-clone

all: build

deps:
	scripts/install-deps.sh

test-deps:
	scripts/install-deps.sh --test

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	ninja -C $(BUILD)

serve: build
	./$(BUILD)/vdisk serve $(SERVE_ARGS)

format-check:
	clang-format --dry-run --Werror $$(git ls-files 'src/*.cc' 'src/*.h')

unit: build
	cd $(BUILD) && ctest --output-on-failure --timeout 300 -j4

unit-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DVDISK_SANITIZE=ON >/dev/null
	ninja -C $(ASAN_BUILD) unit_tests
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --output-on-failure --timeout 600 -j4

e2e: build
	VDISK_BIN=$(CURDIR)/$(BUILD)/vdisk $(PYTEST) -q --durations=15 tests/e2e

# The qcow2 reader under libFuzzer (clang, ASan, UBSan) for a bounded time.
FUZZ_SECONDS ?= 60
fuzz: test-deps
	scripts/run-fuzz.sh $(FUZZ_SECONDS)

test: test-deps format-check unit unit-asan e2e fuzz

bench: build
	bench/api

bench-import: build test-deps
	bench/import

bench-upload: build test-deps
	bench/upload

bench-clone: build test-deps
	bench/clone
