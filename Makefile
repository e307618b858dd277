# The two commands of README.md. Both install what they need (Debian 12, as root),
# configure, build and run.
#   make demo   — the main job: churn-1k in the simulator, its summary and plots
#   make test   — every test: C++ (release and ASan+UBSan), Python, notebooks
JOBS ?= $(shell nproc)

.PHONY: demo test setup build build-asan bench clean

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

bench: build
	./build/bench/kg_bench --benchmark_counters_tabular=true

clean:
	rm -rf build build-asan
