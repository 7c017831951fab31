# moqc: the front door. `make run` and `make test` install what is missing, build and go.
.PHONY: all deps build run test test-release test-asan test-tsan test-fuzz fuzz bench clean

JOBS ?= $(shell nproc)
CMAKE_GEN := -G Ninja
FUZZ_SECONDS ?= 4
FUZZ_LONG_SECONDS ?= 120

all: build

deps:
	@bash scripts/deps.sh

build/build.ninja:
	cmake -S . -B build $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps build/build.ninja
	@ninja -C build -j $(JOBS)

run: build
	@bash scripts/run.sh

# The whole suite: release build, then ASan+UBSan, then the threaded tests under TSan, then a
# short run of every fuzz target.
test: build
	@$(MAKE) --no-print-directory test-release test-asan test-tsan test-fuzz

test-release:
	@echo "== tests (release build)"
	@cd build && ctest --output-on-failure -j $(JOBS)

build-asan/build.ninja:
	cmake -S . -B build-asan $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DMOQC_SANITIZE=ON -DMOQC_SHARED=OFF >/dev/null

test-asan: deps build-asan/build.ninja
	@echo "== tests (ASan + UBSan)"
	@ninja -C build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j $(JOBS)

build-tsan/build.ninja:
	cmake -S . -B build-tsan $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DMOQC_TSAN=ON -DMOQC_SHARED=OFF >/dev/null

test-tsan: deps build-tsan/build.ninja
	@echo "== threaded tests (TSan)"
	@ninja -C build-tsan -j $(JOBS)
	@cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --output-on-failure -L threads -j $(JOBS)

build-fuzz/build.ninja:
	CC=clang cmake -S . -B build-fuzz $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DMOQC_FUZZ=ON -DMOQC_SHARED=OFF >/dev/null

test-fuzz: deps build-fuzz/build.ninja
	@echo "== fuzz smoke ($(FUZZ_SECONDS) s per target)"
	@ninja -C build-fuzz -j $(JOBS)
	@bash scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS)

fuzz: deps build-fuzz/build.ninja
	@ninja -C build-fuzz -j $(JOBS)
	@bash scripts/fuzz.sh build-fuzz $(FUZZ_LONG_SECONDS)

bench: build
	@bash scripts/bench.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz
