# wgdoctor.wireguard — developer entry points. `make test` is what CI runs.
.PHONY: test unit lint sanity molecule lab-tests lab-up lab-down bootstrap build docs

test:            ## every test, from a fresh machine: bootstrap, image, unit, lint, sanity, molecule, lab
	scripts/test.sh

bootstrap:       ## Debian packages and the pinned .venv
	scripts/bootstrap.sh

unit lint sanity molecule:
	scripts/test.sh $@

lab-tests:
	scripts/test.sh lab

lab-up:          ## start the lab and leave it running
	scripts/bootstrap.sh && CONTAINERS_CONF=tests/lab/containers.conf .venv/bin/python tests/lab/lab.py up

lab-down:
	CONTAINERS_CONF=tests/lab/containers.conf .venv/bin/python tests/lab/lab.py down

build:           ## the collection tarball (what it holds: build_ignore in galaxy.yml)
	.venv/bin/ansible-galaxy collection build --force

docs:            ## the docs site in tests/output/docsite/html (antsibull-docs, Sphinx); also part of lint
	scripts/docsite.sh

.PHONY: bench
bench:           ## every benchmark (own lab, ~6 min); rewrites docs/benchmarks.md
	benchmarks/run_all.sh
