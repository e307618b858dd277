"""Imports the compiled module with an error that says how to get it."""

from .errors import NativeModuleMissing


def native():
    """The kittengrad._native module, or NativeModuleMissing saying how to build it."""
    try:
        from . import _native
    except ImportError as e:
        raise NativeModuleMissing(
            "kittengrad's compiled module (kittengrad._native) is not importable "
            f"({e}). Build it with `make build` and use the package from the build tree "
            "(PYTHONPATH=build/python /usr/bin/python3), or install it into a venv made with "
            "`/usr/bin/python3 -m venv --system-site-packages`: `pip install --no-build-isolation .`"
        ) from None
    return _native
