# The README's two commands. Both run scripts/setup first (idempotent, fast
# when everything is there); it installs Debian packages and fetches sources.
.PHONY: check demo setup clean

setup:
	@scripts/setup

check: setup
	@tests/run

demo: setup
	@tools/mirc configure -t unix && tools/mirc build >/dev/null && tools/mirc run

clean:
	rm -rf build _build examples/*/_build tests/*/*/_build tests/*/_build
