# The two commands of README.md. Both install what they need (Debian 12, as root),
# configure, build and run.
#   make demo   — the main job: churn-1k in the simulator, its summary and plots
#   make test   — every test: C++ (release and ASan+UBSan), Python, notebooks, and each
#                 libFuzzer target for a few seconds on its committed corpus
JOBS ?= $(shell nproc)

.PHONY: demo test setup build build-asan bench clean fuzz-codec fuzz-session fuzz-records

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
	$(MAKE) fuzz-codec FUZZ_SECONDS=5
	$(MAKE) fuzz-session FUZZ_SECONDS=5
	$(MAKE) fuzz-records FUZZ_SECONDS=5

BENCH_TARGETS = kg_bench kg_large_ops kg_sqlite_bench kg_sim_floor kg_live_load
bench: build
	cmake --build --preset release --target $(BENCH_TARGETS) -j $(JOBS)
	./build/bench/kg_bench --benchmark_counters_tabular=true

# The wire codec's libFuzzer target (clang, ASan + UBSan) for FUZZ_SECONDS on the committed
# corpus; what it finds goes to build-fuzz/corpus/codec, never into fuzz/corpus/.
FUZZ_SECONDS ?= 10
fuzz-codec: setup
	cmake --preset fuzz
	cmake --build build-fuzz --target codec_fuzz -j $(JOBS)
	mkdir -p build-fuzz/corpus/codec
	./build-fuzz/fuzz/codec_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  build-fuzz/corpus/codec fuzz/corpus/codec

# The session layer's libFuzzer target, the same way: build-fuzz/corpus/session gets what
# it finds.
fuzz-session: setup
	cmake --preset fuzz
	cmake --build build-fuzz --target session_fuzz -j $(JOBS)
	mkdir -p build-fuzz/corpus/session
	./build-fuzz/fuzz/session_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  build-fuzz/corpus/session fuzz/corpus/session

# The storage records' decoders (what a peer reads back from its database), the same way.
fuzz-records: setup
	cmake --preset fuzz
	cmake --build build-fuzz --target records_fuzz -j $(JOBS)
	mkdir -p build-fuzz/corpus/records
	./build-fuzz/fuzz/records_fuzz -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	  build-fuzz/corpus/records fuzz/corpus/records

clean:
	rm -rf build build-asan build-fuzz
