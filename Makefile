# The two commands of README.md. Both install what they need (Debian 12, as root),
# configure, build and run.
#   make demo   — the main job: churn-1k in the simulator, its summary and plots
#   make test   — every test: C++ (release and ASan+UBSan), Python, notebooks, and each
#                 libFuzzer target for a few seconds on its committed corpus
JOBS ?= $(shell nproc)

.PHONY: demo test setup build build-asan bench clean fuzz-build

setup:
	@bash tools/setup-debian.sh

build: setup
	cmake --preset release
	cmake --build --preset release -j $(JOBS)

build-asan: setup
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)

DEMO_DIR ?= build/demo

demo: build
	mkdir -p $(DEMO_DIR)
	./build/kittengrad sim scenarios/churn-1k.toml --out $(DEMO_DIR)/churn-1k.h5
	./build/kittengrad report $(DEMO_DIR)/churn-1k.h5 --out $(DEMO_DIR)/churn-1k-report

test: build build-asan
	ctest --preset release -j $(JOBS)
	ctest --preset asan -j $(JOBS)
	$(MAKE) $(FUZZ_TARGETS:%=fuzz-%) FUZZ_SECONDS=5

BENCH_TARGETS = kg_bench kg_large_ops kg_sqlite_bench kg_sim_floor kg_live_load
bench: build
	cmake --build --preset release --target $(BENCH_TARGETS) -j $(JOBS)
	./build/bench/kg_bench --benchmark_counters_tabular=true

# The libFuzzer targets (clang, ASan + UBSan; fuzz/README.md), built once, each run for
# FUZZ_SECONDS on its committed corpus: `make fuzz-codec`, `fuzz-session`, `fuzz-records`.
# What a run finds goes to build-fuzz/corpus/NAME, never into fuzz/corpus/.
FUZZ_SECONDS ?= 10
FUZZ_TARGETS = codec session records
fuzz-build: setup
	cmake --preset fuzz
	cmake --build build-fuzz --target $(FUZZ_TARGETS:%=%_fuzz) -j $(JOBS)

fuzz-%: fuzz-build
	mkdir -p build-fuzz/corpus/$*
	./build-fuzz/fuzz/$*_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  build-fuzz/corpus/$* fuzz/corpus/$*

clean:
	rm -rf build build-asan build-fuzz
