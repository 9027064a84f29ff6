# fio-dlio: an fio external ioengine, built against the exact fio that loads it.
#
#   make                 build build/fio-dlio.so (fetches and configures fio's source once)
#   make check           unit tests (cmocka) and integration tests (pytest + real fio)
#   make check SANITIZE=1  the same under ASan/UBSan (objects in build/san/)
#   make install         PREFIX=/usr/local DESTDIR=
#   FIO_SRC=<dir>        use this fio source tree (a self-built fio) instead of apt-get source
#   FIO=<path>           the fio binary that will load the engine (default: fio on PATH)

SHELL      := /bin/bash
.SHELLFLAGS := -o pipefail -c

FIO        ?= fio
PREFIX     ?= /usr/local
DESTDIR    ?=
SANITIZE   ?= 0
PYTHON     ?= /usr/bin/python3
PYTEST_ARGS ?=
CC         ?= cc

FIO_VERSION := $(shell $(FIO) --version 2>/dev/null)
ifeq ($(FIO_VERSION),)
$(error cannot run '$(FIO) --version': install fio (scripts/install-deps) or set FIO=<path to fio>)
endif

FIO_DIR  := build/$(FIO_VERSION)
FIO_CFG  := $(FIO_DIR)/cfg/config-host.h
FIO_INC   = $(shell cat $(FIO_DIR)/cfg/src-path 2>/dev/null)

# BUILD_DIR: where objects and binaries go (the fetched fio source stays in build/)
BUILD_DIR  ?= build
ifeq ($(SANITIZE),1)
OUT      := $(BUILD_DIR)/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
OUT      := $(BUILD_DIR)
SANFLAGS :=
endif

CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror
BASEFLAGS := -std=gnu11 -fPIC -D_GNU_SOURCE -D_LARGEFILE_SOURCE -D_FILE_OFFSET_BITS=64 \
             $(WARN) $(SANFLAGS)
LIBS     := -luring -lcurl -lssl -lcrypto -lyaml -lz -lpthread -lm

# Code that does not include fio's headers: shared by the engine, the translator and unit tests.
LIB_SRCS := $(wildcard engine/lib/*.c) $(wildcard engine/dlio/*.c)
# Code that includes fio's headers (the fio hooks and the ABI guard).
FIO_SRCS := $(wildcard engine/fio/*.c)
TRANSLATOR_SRCS := $(wildcard translator/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)

LIB_OBJS := $(patsubst %.c,$(OUT)/obj/%.o,$(LIB_SRCS))
FIO_OBJS := $(patsubst %.c,$(OUT)/obj/%.o,$(FIO_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))
ENGINE   := $(OUT)/fio-dlio.so
TRANSLATOR := $(if $(TRANSLATOR_SRCS),$(OUT)/dlio2fio)
LIBA     := $(OUT)/libfiodlio.a

# Test-only engine builds for the ABI guard: one that claims another fio version, one whose
# expected thread_options offset is off by 8 bytes.
ABI_TEST_ENGINES := $(OUT)/test/fio-dlio-wrongversion.so $(OUT)/test/fio-dlio-wrongoffset.so

FIO_CFLAGS = -include $(FIO_CFG) -isystem $(FIO_INC) -Iengine -DFIO_INC_DEBUG \
             -DFIODLIO_FIO_VERSION='"$(FIO_VERSION)"' -DFIODLIO_SRCDIR='"$(CURDIR)"'

.PHONY: all engine translator check unit integration run run-plain install uninstall clean distclean \
        check-symbols fio-config format jobfiles fuzz
.DELETE_ON_ERROR:

all: $(ENGINE) $(TRANSLATOR)

engine: $(ENGINE)
translator: $(TRANSLATOR)
fio-config: $(FIO_CFG)

# Fetched and configured once per fio version; a second make finds the file and does no network.
$(FIO_CFG):
	scripts/fio-source '$(FIO)' '$(FIO_VERSION)' '$(FIO_DIR)' '$(FIO_SRC)'

$(OUT)/obj/engine/fio/%.o: engine/fio/%.c $(FIO_CFG) $(wildcard engine/*.h engine/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) $(FIO_CFLAGS) -c -o $@ $<

$(OUT)/obj/%.o: %.c $(wildcard engine/*.h engine/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -Iengine -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(ENGINE): $(FIO_OBJS) $(LIBA)
	$(CC) $(BASEFLAGS) $(CFLAGS) -shared -o $@ $(FIO_OBJS) $(LIBA) $(LIBS)

$(OUT)/test/fio-dlio-wrongversion.so: engine/fio/abi.c $(filter-out $(OUT)/obj/engine/fio/abi.o,$(FIO_OBJS)) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) $(FIO_CFLAGS) -UFIODLIO_FIO_VERSION -DFIODLIO_FIO_VERSION='"fio-0.0-test"' \
		-shared -o $@ $^ $(LIBS)

$(OUT)/test/fio-dlio-wrongoffset.so: engine/fio/abi.c $(filter-out $(OUT)/obj/engine/fio/abi.o,$(FIO_OBJS)) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) $(FIO_CFLAGS) -DFIODLIO_ABI_TEST_SHIFT=8 \
		-shared -o $@ $^ $(LIBS)

$(OUT)/dlio2fio: $(TRANSLATOR_SRCS) $(LIBA)
	$(CC) $(BASEFLAGS) $(CFLAGS) -Iengine -o $@ $(TRANSLATOR_SRCS) $(LIBA) $(LIBS)

$(OUT)/tests/%: tests/unit/%.c $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(BASEFLAGS) $(CFLAGS) -Iengine -Itests/unit -o $@ $< $(LIBA) -lcmocka $(LIBS)

# Every symbol the engine takes from fio must be exported by the fio binary; fio dlopens with
# RTLD_LAZY, so a missing one would only fail at its first call.
check-symbols: $(ENGINE)
	scripts/check-symbols '$(ENGINE)' '$(FIO)'

# FIODLIO_CI=1 (set by .ci/run) turns every skipped test into a failure.
unit: $(UNIT_BINS)
	@failed=""; for t in $(UNIT_BINS); do echo "== $$t"; \
		if ! $$t > $$t.log 2>&1; then failed="$$failed $$t"; fi; cat $$t.log; \
		if [ "$${FIODLIO_CI:-0}" = 1 ] && grep -q 'SKIPPED' $$t.log; then \
			echo "unit: $$t skipped tests, which CI does not allow" >&2; failed="$$failed $$t"; fi; \
	done; if [ -n "$$failed" ]; then echo "unit: FAILED:$$failed" >&2; exit 1; fi

integration: $(ENGINE) $(TRANSLATOR) $(ABI_TEST_ENGINES)
	FIODLIO_BUILD='$(abspath $(OUT))' FIODLIO_SANITIZE='$(SANITIZE)' FIO='$(FIO)' \
		$(PYTHON) -m pytest -q tests/integration $(PYTEST_ARGS)

check: check-symbols unit integration

DEMO_DIR ?= $(abspath build/demo)
# The set-up check from the README: a representative job through the engine.
# The quickstart: MLPerf's U-Net3D workload scaled down (56 files of about 2 MiB), data
# generated on the local file system, then 2 epochs with 2 ranks, DLIO's summary at the end.
QUICKSTART = --ranks 2 --config-dir jobfiles workload=unet3d_h100 \
	++workload.workflow.generate_data=True ++workload.dataset.num_files_train=56 \
	++workload.dataset.record_length_bytes=2097152 \
	++workload.dataset.record_length_bytes_stdev=524288 ++workload.train.epochs=2 \
	++workload.workflow.checkpoint=False
run: $(ENGINE) $(TRANSLATOR)
	rm -rf '$(DEMO_DIR)' && mkdir -p '$(DEMO_DIR)'
	$(TRANSLATOR) $(QUICKSTART) --data-folder 'file://$(DEMO_DIR)/data' \
		--output '$(DEMO_DIR)/output' -o '$(DEMO_DIR)/unet3d.fio'
	cd '$(DEMO_DIR)' && FIODLIO_ENGINE='$(abspath $(ENGINE))' $(FIO) unet3d.fio \
		| tee fio.txt | grep 'fio-dlio: .*\(generated\|epoch\|METRIC\)'
	@echo "run: fio's full report: $(DEMO_DIR)/fio.txt, DLIO's: $(DEMO_DIR)/output/summary.json"
	rm -rf '$(DEMO_DIR)/data'

# An ordinary fio job through the engine (no DLIO mode).
run-plain: $(ENGINE)
	FIODLIO_ENGINE='$(abspath $(ENGINE))' FIODLIO_DATA='$(DEMO_DIR)' $(FIO) jobfiles/local-demo.fio
	rm -rf '$(DEMO_DIR)'

install: $(ENGINE) $(TRANSLATOR)
	install -d '$(DESTDIR)$(PREFIX)/lib/fio-dlio' '$(DESTDIR)$(PREFIX)/bin' \
		'$(DESTDIR)$(PREFIX)/share/doc/fio-dlio' '$(DESTDIR)$(PREFIX)/share/fio-dlio/jobfiles'
	install -m 0755 $(ENGINE) '$(DESTDIR)$(PREFIX)/lib/fio-dlio/fio-dlio.so'
	$(if $(TRANSLATOR),install -m 0755 $(TRANSLATOR) '$(DESTDIR)$(PREFIX)/bin/dlio2fio')
	install -m 0644 README.md '$(DESTDIR)$(PREFIX)/share/doc/fio-dlio/README.md'
	for f in jobfiles/*.fio; do [ -f "$$f" ] || continue; \
		install -m 0644 "$$f" '$(DESTDIR)$(PREFIX)/share/fio-dlio/jobfiles/'; done

uninstall:
	rm -f '$(DESTDIR)$(PREFIX)/lib/fio-dlio/fio-dlio.so' '$(DESTDIR)$(PREFIX)/bin/dlio2fio'
	rm -rf '$(DESTDIR)$(PREFIX)/share/doc/fio-dlio' '$(DESTDIR)$(PREFIX)/share/fio-dlio'

# jobfiles/NAME.fio from jobfiles/workload/NAME.yaml for every entry of jobfiles/workloads.list;
# the integration tests fail when a committed job file differs from this output.
jobfiles: $(TRANSLATOR)
	scripts/make-jobfiles '$(TRANSLATOR)'

# libFuzzer (clang) on config parsing + overrides + the flow round trip, FUZZ_TIME seconds,
# seeded with the workloads; findings land in build/fuzz/.
FUZZ_TIME ?= 60
FUZZ_SRCS := fuzz/fuzz_config.c engine/dlio/config.c engine/dlio/emit.c engine/dlio/ytree.c engine/lib/errbuf.c \
             engine/dlio/rng.c
fuzz: $(FUZZ_SRCS) $(wildcard engine/dlio/*.h)
	@mkdir -p build/fuzz/corpus
	clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iengine \
		-o build/fuzz/fuzz_config $(FUZZ_SRCS) -lyaml -lm
	cp jobfiles/workload/*.yaml build/fuzz/corpus/
	cd build/fuzz && ./fuzz_config -max_total_time=$(FUZZ_TIME) -print_final_stats=1 corpus

format:
	clang-format -i $(wildcard engine/*.h engine/*/*.[ch] translator/*.[ch] tests/unit/*.[ch])

clean:
	rm -rf build/obj build/tests build/test build/san build/*.so build/*.a build/dlio2fio

# also forgets the fetched and configured fio source
distclean:
	rm -rf build
