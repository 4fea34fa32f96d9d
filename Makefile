# make demo  - install everything, start the local collector with the demo pages, report a playback
# make test  - install everything, run every test (unit, vectors on CPython + MicroPython, collector, e2e in Chromium)
# make bench - install everything, print the benchmark table
# make soak  - install everything, loop the demo clip for minutes on both runtimes and send beacons from
#              CPython while memory is sampled; prints the growth per 1,000 loops (bench/soak.py)
# make dist  - the folder a portal deploys: pages, SDK, runtimes, hashed names, manifest, CSP (DIST=dir)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WHEEL := web/dist/kaltura_web-0.1.0-py3-none-any.whl
MPY_BUNDLE := web/dist/kaltura_web.mpy
MEDIA := web/media/test.webm
# 25 s: long enough for three KAVA VIEWs (at PLAY, then two 10-s periods) in e2e/test_kava_reference.py,
# with the quartiles (6.25, 12.5, 18.75, 25 s) well clear of the VIEW times
KAVA_MEDIA := web/media/kava.webm
# what the page wheel and the MicroPython bundle are built from (the collector and CLI are not in them)
PAGE_SOURCES := $(shell find kaltura_web/core kaltura_web/browser -name '*.py') kaltura_web/__init__.py pyproject.toml

.PHONY: setup system venv demo test bench clean

PYODIDE_HTTP := web/pypi/pyodide_http-0.2.2-py3-none-any.whl

setup: system $(VENV)/.installed web/node_modules/.installed $(WHEEL) $(MPY_BUNDLE) $(PYODIDE_HTTP) $(MEDIA) $(KAVA_MEDIA)

# Debian's Chromium (Playwright cannot download its own here), ffmpeg, curl and Node: only what is
# missing, never Debian's nodejs/npm over a Node.js that is already there (tools/setup_system.sh).
system:
	@bash tools/setup_system.sh

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	touch $@

web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# What pages load, only the core and the browser edge: for Pyodide a wheel of them without
# comments and docstrings (tools/build_page_wheel.py; the full wheel, for PyPI and CPython, is
# still `pip wheel .`), for MicroPython the same modules precompiled to .mpy in one file that
# unpacks itself on the first import (tools/build_mpy.py).  `make $(WHEEL)` builds both.
$(WHEEL): $(PAGE_SOURCES) $(VENV)/.installed tools/build_page_wheel.py $(MPY_BUNDLE)
	$(PY) tools/build_page_wheel.py web/dist

$(MPY_BUNDLE): $(PAGE_SOURCES) $(VENV)/.installed tools/build_mpy.py tools/mpy_bundle_head.py
	rm -f web/dist/kaltura_web-mpy.zip
	$(PY) tools/build_mpy.py $@

# pyodide-http from PyPI, loaded by URL inside Pyodide (no CDN, no micropip)
$(PYODIDE_HTTP): $(VENV)/.installed
	$(PY) -m pip download -q --no-deps -d web/pypi pyodide-http==0.2.2

$(MEDIA):
	mkdir -p web/media
	ffmpeg -loglevel error -y -f lavfi -i testsrc=duration=4:size=160x120:rate=15 \
	  -f lavfi -i sine=frequency=440:duration=4 -c:v libvpx -b:v 100k -c:a libopus -shortest $@

$(KAVA_MEDIA):
	mkdir -p web/media
	ffmpeg -loglevel error -y -f lavfi -i testsrc=duration=25:size=160x120:rate=15 \
	  -f lavfi -i sine=frequency=440:duration=25 -c:v libvpx -b:v 40k -c:a libopus -b:a 16k -shortest $@

demo: setup
	$(VENV)/bin/kaltura-web demo

test: setup
	node tests/micropython/run_vectors.mjs
	$(PY) -m pytest

bench: setup
	$(PY) bench/run.py

# make soak - "a day in an hour": the SDK pages loop a clip at 16x, CPython sends beacons and plays one
# long session, memory sampled throughout; prints the growth per 1,000 loops / 100,000 beacons / hour,
# writes bench/soak.json and README.md's soak block (bench/soak.py). Not part of `make test`.
# About 7 minutes by default; SOAK_MINUTES=60 SOAK_BEACONS=1000000 for the long run.
.PHONY: soak
soak: setup
	$(PY) bench/soak.py

clean:
	rm -rf $(VENV) web/node_modules web/dist web/media/*.webm build *.egg-info dist/portal

# make mutation - mutation score of the core against its fast tests and the vectors, in a temporary
# copy of the package (the sources are never written); e.g. make mutation ARGS="--sample 60 --seed 1"
.PHONY: mutation
mutation: $(VENV)/.installed
	$(PY) -m tools.mutation -j 2 $(ARGS)

# make dist - everything a portal hosts, in one folder (tools/build_dist.py; README, "Deploy on
# your portal"): sample pages, the page wheel and the MicroPython bundle, the runtimes' files the
# pages load, the early-event snippet and its CSP hash, content-hashed names and manifest.json.
DIST ?= dist/portal
.PHONY: dist
dist: $(WHEEL) $(MPY_BUNDLE) web/node_modules/.installed $(MEDIA)
	$(PY) tools/build_dist.py $(DIST) --wheel $(WHEEL) --mpy $(MPY_BUNDLE) --media $(MEDIA)
