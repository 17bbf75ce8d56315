#!/usr/bin/env bash
# Installs the Python guest toolchain: componentize-py (pinned), from PyPI, into a virtualenv at
# ${QUIVER_TOOLCHAINS:-$HOME/.cache/quiver/toolchains}/python-componentize-py-<version>.
# Idempotent: when the pinned version is already installed it does nothing but print the path.
# Prints the absolute path of the `componentize-py` executable as its LAST stdout line; all
# other output goes to stderr, so `cpy="$(scripts/toolchains/python.sh | tail -n 1)"` works.
# Needs python3 (>= 3.9, with the venv module) and network access to PyPI on the first run.
set -euo pipefail

# Pinned: a new componentize-py release changes the bundled CPython and the generated bindings.
COMPONENTIZE_PY_VERSION="0.25.1"

root="${QUIVER_TOOLCHAINS:-$HOME/.cache/quiver/toolchains}"
venv="$root/python-componentize-py-$COMPONENTIZE_PY_VERSION"
exe="$venv/bin/componentize-py"

installed_version() {
    "$venv/bin/python" -c \
        'import importlib.metadata as m; print(m.version("componentize-py"))' 2>/dev/null || true
}

if [[ -x "$exe" && "$(installed_version)" == "$COMPONENTIZE_PY_VERSION" ]]; then
    echo "componentize-py $COMPONENTIZE_PY_VERSION already installed in $venv" >&2
else
    python="${PYTHON:-python3}"
    if ! command -v "$python" >/dev/null 2>&1; then
        echo "error: $python not found; install Python 3.9+ (with venv) or set PYTHON" >&2
        exit 1
    fi
    mkdir -p "$root"
    # A venv records its own path, so it is made at its final name; a half-made one from an
    # interrupted run fails the version check above and is rebuilt from scratch here.
    rm -rf "$venv"
    echo "installing componentize-py $COMPONENTIZE_PY_VERSION into $venv" >&2
    "$python" -m venv "$venv" >&2
    if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            --only-binary=:all: "componentize-py==$COMPONENTIZE_PY_VERSION" >&2; then
        rm -rf "$venv"
        echo "error: pip install componentize-py==$COMPONENTIZE_PY_VERSION failed" >&2
        exit 1
    fi
    if [[ ! -x "$exe" || "$(installed_version)" != "$COMPONENTIZE_PY_VERSION" ]]; then
        rm -rf "$venv"
        echo "error: componentize-py installed but $exe is missing or the wrong version" >&2
        exit 1
    fi
fi
echo "$exe"
