# moqc: the front door. `make run` and `make test` install what is missing, build and go.
.PHONY: all deps build run test fuzz bench clean

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
	@ninja --quiet -C build -j $(JOBS)

run: build
	@bash scripts/run.sh

# The whole suite: release build, then ASan+UBSan, then the threaded tests under TSan, then a
# short run of every fuzz target (scripts/test.sh). Ends with "tests: N passed, M failed".
test: build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/test.sh

build-fuzz/build.ninja:
	CC=clang cmake -S . -B build-fuzz $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DMOQC_FUZZ=ON -DMOQC_SHARED=OFF >/dev/null

fuzz: deps build-fuzz/build.ninja
	@ninja -C build-fuzz -j $(JOBS)
	@bash scripts/fuzz.sh build-fuzz $(FUZZ_LONG_SECONDS)

bench: build
	@bash scripts/bench.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz
