# Entry points named in the README. Everything installs into ./.venv.
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
HTTP    ?= 127.0.0.1:8080
DB      ?= ./xenapi-dev.db

.PHONY: venv run run-pool test bench sim-check clean

$(VPY):
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip

# (Re)build the package and its compiled cffi backends whenever sources change.
venv: $(VPY)
	$(VPY) -m pip install -q -e '.[test]'
	@if [ -f tests/clients/node/package.json ]; then cd tests/clients/node && npm ci --silent --no-audit --no-fund; fi

# Run the XenAPI server on the simulator with a fresh database.
run: venv
	rm -rf $(DB) $(DB)-wal $(DB)-shm $(DB).*
	@echo "== log in as root with the password the server writes to $(DB).root-password"
	XLSIM_STATE_FILE=$(DB).xlsim $(VENV)/bin/xenapi-server serve --backend sim --db $(DB) --http $(HTTP)

# A pool: a private PostgreSQL (data under ./.pool, no system service) and three simulated
# hosts on 127.0.0.11-13 (HTTP 8080, HTTPS 8443), joined with pool.join, with a shared file SR.
run-pool: venv
	$(VPY) tests/run_pool.py

# C checks of the simulator (warnings as errors, AddressSanitizer, real Xen headers).
sim-check:
	$(MAKE) -C stubs/libxl_sim check

test: venv
	$(MAKE) -C stubs/libxl_sim check
	$(VPY) -m pytest -q tests

bench: venv
	$(VPY) -m pytest -q bench --benchmark-only --benchmark-columns=min,median,mean,ops

clean:
	rm -rf $(VENV) build *.egg-info
	$(MAKE) -C stubs/libxl_sim clean
