# Entry points named in the README. Everything installs into ./.venv.
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
HTTP    ?= 127.0.0.1:8080
DB      ?= ./xenapi-dev.db

.PHONY: venv venv-run run run-fresh run-pool test bench bench-short sim-check clean bindings bindings-c bindings-java completion

$(VPY):
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip

# (Re)build the package and its compiled cffi backends whenever sources change.
# venv-run: what the server needs; venv: that and the tests' extras and node clients.
venv-run: $(VPY)
	$(VPY) -m pip install -q -e .

venv: $(VPY)
	$(VPY) -m pip install -q -e '.[test]'
	@if [ -f tests/clients/node/package.json ]; then cd tests/clients/node && npm ci --silent --no-audit --no-fund; fi

# Run the XenAPI server on the simulator. The database (and the simulated host's state,
# $(DB).xlsim) is kept between runs: run-fresh deletes them first.
run: venv-run
	@echo "== log in as root with the password the server writes to $(DB).root-password"
	XLSIM_STATE_FILE=$(DB).xlsim $(VENV)/bin/xenapi-server serve --backend sim --db $(DB) --http $(HTTP)

run-fresh:
	rm -rf $(DB) $(DB)-wal $(DB)-shm $(DB).*
	$(MAKE) run

# Regenerate xe's bash completion from its command table (shipped in the package).
completion: venv
	$(VPY) -m xenapi_impl.xe.completion > xenapi_impl/xe/xe-completion.bash

# A pool: a private PostgreSQL (data under ./.pool, no system service) and three simulated
# hosts on 127.0.0.11-13 (HTTP 8080, HTTPS 8443), joined with pool.join, with a shared file SR.
run-pool: venv
	$(VPY) tests/run_pool.py

# C checks of the simulator (warnings as errors, AddressSanitizer, real Xen headers).
sim-check:
	$(MAKE) -C stubs/libxl_sim check

# Client bindings generated from the model (xenapi_impl/model) into build/bindings/.
bindings: bindings-c bindings-java

# libxenserver, the C binding generated from the model (bindings/c): headers under
# build/bindings/c/include/xen/api, build/bindings/c/lib/libxenserver.so and .a.
bindings-c: venv
	$(MAKE) -C bindings/c PY=$(abspath $(VPY)) BUILD=$(CURDIR)/build/bindings/c

# bench-short: every benchmark once with tiny sizes (bench/benchsize.py), so the suite cannot
# rot; its figures mean nothing (`make bench` measures).
BENCH_SHORT_OPTS := --bench-short --benchmark-min-rounds=1 --benchmark-max-time=0.001 \
	--benchmark-warmup=off -p no:cacheprovider

test: venv
	$(MAKE) -C stubs/libxl_sim check
	$(VPY) -m pytest -q tests
	$(VPY) -m pytest -q bench $(BENCH_SHORT_OPTS)

bench-short: venv
	$(VPY) -m pytest -q bench $(BENCH_SHORT_OPTS)

# The Java binding: sources from xenapi_impl/bindings/java, compiled offline against Debian's
# Jackson (libjackson2-databind-java) into build/bindings/java/xen-api.jar.
JAVA_OUT := build/bindings/java
JAVA_CP  ?= /usr/share/java/jackson-databind.jar:/usr/share/java/jackson-core.jar:/usr/share/java/jackson-annotations.jar
GENPY    ?= $(if $(wildcard $(VPY)),$(VPY),$(PY))
bindings-java:
	rm -rf $(JAVA_OUT)/src $(JAVA_OUT)/classes $(JAVA_OUT)/xen-api.jar
	PYTHONPATH=$(CURDIR) $(GENPY) -m xenapi_impl.bindings.java $(JAVA_OUT)/src
	javac --release 17 -encoding UTF-8 -nowarn -Xlint:-options -cp $(JAVA_CP) -d $(JAVA_OUT)/classes \
	    $$(find $(JAVA_OUT)/src -name '*.java' | LC_ALL=C sort)
	jar --create --file $(JAVA_OUT)/xen-api.jar -C $(JAVA_OUT)/classes .

bench: venv
	$(VPY) -m pytest -q bench --benchmark-only --benchmark-columns=min,median,mean,ops

clean:
	rm -rf $(VENV) build *.egg-info
	$(MAKE) -C stubs/libxl_sim clean
