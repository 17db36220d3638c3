"""`python -m mcheck`: the same as the `mcheck` command."""

from mcheck.cli import entry

entry()
