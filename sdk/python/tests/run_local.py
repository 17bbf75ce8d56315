#!/usr/bin/env python3
"""Runs the SDK's tests in ordinary CPython, outside wasm, in seconds.

Generates the componentize-py bindings of the `plugin` world (`componentize-py bindings`,
the same code a component build generates) into a cache directory, puts them and the SDK on
`sys.path`, and runs `test_*.py` here with unittest. The host imports (`log`, `counter-add`)
fall back to stderr and `quiver_sdk.host.LOCAL_COUNTERS` outside a component.

    python3 sdk/python/tests/run_local.py [-v]

The golden cases themselves run against built components: see `sdk/python/README.md`.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(SDK))


def bindings_dir():
    cpy = subprocess.run(
        [os.path.join(REPO, "scripts", "toolchains", "python.sh")],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]
    # The contract the SDK speaks: quiver:transform@0.2.0.
    out = os.path.join(os.path.dirname(os.path.dirname(cpy)), "bindings-plugin-0.2.0")
    wit = os.path.join(REPO, "wit", "0.2.0")
    # Keyed on the WIT's content, not its mtime: every clone has new mtimes.
    digest = hashlib.sha256()
    for name in sorted(os.listdir(wit)):
        with open(os.path.join(wit, name), "rb") as f:
            digest.update(name.encode() + b"\0" + f.read())
    key = digest.hexdigest()
    stamp = os.path.join(out, ".wit-sha256")
    if not os.path.exists(stamp) or open(stamp).read() != key:
        # componentize-py refuses to write over existing bindings: start from nothing.
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([cpy, "-d", wit, "-w", "plugin", "bindings", out], check=True)
        with open(stamp, "w") as f:
            f.write(key)
    return out


def main():
    sys.dont_write_bytecode = True
    sys.path[:0] = [bindings_dir(), SDK]
    suite = unittest.defaultTestLoader.discover(HERE, pattern="test_*.py")
    verbosity = 2 if "-v" in sys.argv else 1
    result = unittest.TextTestRunner(verbosity=verbosity).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
