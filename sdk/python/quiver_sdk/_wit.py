"""The generated WIT bindings, imported in one place.

componentize-py generates the `wit_world` package from `wit/0.2.0/transform.wit` (world
`plugin` of quiver:transform@0.2.0) when it builds a component; `sdk/python/build.sh` runs
it. For tests outside wasm, generate the same package with
`componentize-py -d wit/0.2.0 -w plugin bindings DIR` and put DIR on `sys.path`
(`sdk/python/tests/run_local.py` does this); the imported functions then raise
`NotImplementedError`, so only the pure-Python parts of the SDK run there.

Everything else in the SDK reaches the bindings through this module, so the generated names
appear nowhere else.
"""

try:
    from wit_world.imports import types as wit  # noqa: F401  (re-exported)
    from wit_world.imports import host as wit_host  # noqa: F401
    from wit_world.imports import columns as wit_columns  # noqa: F401
    from wit_world.imports import compute as wit_compute  # noqa: F401
    from wit_world.exports import transform as wit_transform  # noqa: F401
    from componentize_py_types import Err  # noqa: F401
except ImportError as e:  # pragma: no cover - only outside a componentize-py build
    raise ImportError(
        "quiver_sdk needs the componentize-py bindings of the `plugin` world of "
        "quiver:transform@0.2.0 (module `wit_world`): build with sdk/python/build.sh, or for "
        "local tests generate them with `componentize-py -d wit/0.2.0 -w plugin bindings DIR` "
        "and add DIR to sys.path"
    ) from e

__all__ = ["wit", "wit_host", "wit_columns", "wit_compute", "wit_transform", "Err"]
