# Convenience wrappers; on a fresh machine (no make) run the scripts directly:
#   bash scripts/demo.sh      bash scripts/test.sh      bash bench/pg/run.sh
.PHONY: all build demo demo-stop test integration bench format

all: build

build:
	cmake --preset dev && cmake --build --preset dev -j2

demo:
	bash scripts/demo.sh

demo-stop:
	bash scripts/demo.sh stop

test:
	bash scripts/test.sh

integration: build
	ctest --preset dev -L integration -j2

bench:
	bash bench/pg/run.sh

format:
	find src tests -name '*.h' -o -name '*.cc' | xargs clang-format -i
