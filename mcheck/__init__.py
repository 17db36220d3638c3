"""mcheck: a model checker that finds futurelock (and deadlock) in models of async Rust code.
ARCHITECTURE.md maps the modules; `mcheck/verify.py` is the pipeline."""

from importlib import metadata


def version() -> str:
    """The installed package's version (what `mcheck --version` and SARIF's tool.driver say)."""
    try:
        return metadata.version("mcheck")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"
