# Entry points named in the README. Everything installs into ./.venv.
PY      ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
HTTP    ?= 127.0.0.1:8080
DB      ?= ./xenapi-dev.db

.PHONY: venv run test bench sim-check clean completion

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

# Regenerate xe's bash completion from its command table (shipped in the package).
completion: venv
	$(VPY) -m xenapi_impl.xe.completion > xenapi_impl/xe/xe-completion.bash

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
