"""`mcheck scan` as data: the Rust files a command names, parsed and indexed, a model extracted per
entry point and checked through the normal pipeline (runs.run_source), and each site's verdict.

The phase between extract.py and report.py. It prints nothing and decides no verdict itself: a
site's verdict is its model's, and a futurelock is blamed on the site whose borrowed future (or
set, or stream) the stuck report names as dormant (NOTE(blame)).
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePath

from mcheck.budget import Budget
from mcheck.errors import UsageError
from mcheck.render import Describer
from mcheck.runs import EXIT_BAD_INPUT, EXIT_INCONCLUSIVE, EXIT_INTERNAL_ERROR, Options, Outcome, run_source, worst
from mcheck.scan import index as index_mod
from mcheck.scan.extract import Model, Site, companions_of, extract, neutralize
from mcheck.scan.rust import Loc, RustError, RustFile, read_rust
from mcheck.trace import Status

MAX_VARIANTS = 3
"""How many more sites of one entry point get a model of their own, each with the sites blamed
before it assumed fixed (NOTE(per-site))."""

SKIP_DIRS = frozenset({"target", ".git", "node_modules", ".venv"})


@dataclass(slots=True)
class Checked:
    """One extracted model and what checking it gave."""

    model: Model
    outcome: Outcome
    path: str  # the model's path: where --emit-models wrote it, else a name under scan-models/
    written: bool
    blamed: int | None = None  # the index in model.sites of the site the futurelock is blamed on
    doubt: str = ""  # NOTE(doubt): why a stuck verdict is reported inconclusive
    variant: bool = False  # a model with an earlier site assumed fixed (NOTE(per-site))
    assumes: tuple[Loc, ...] = ()  # the sites assumed fixed in it

    @property
    def verdict(self) -> str:
        o = self.outcome
        if self.doubt:
            return "inconclusive"
        if o.diagnostics:
            return "not checked"
        return o.what

    @property
    def exit_code(self) -> int:
        if self.doubt or self.outcome.diagnostics:
            return EXIT_INCONCLUSIVE
        return self.outcome.exit_code


@dataclass(frozen=True, slots=True)
class SiteResult:
    site: Site
    checked: Checked
    blamed: bool  # the model's stuck state is this site's doing (or the entry's, for a site-less entry)

    @property
    def verdict(self) -> str:
        return self.checked.verdict


@dataclass(slots=True)
class ScanResult:
    files: list[RustFile] = field(default_factory=list)
    errors: list[RustError] = field(default_factory=list)
    checked: list[Checked] = field(default_factory=list)
    sites: list[SiteResult] = field(default_factory=list)
    lines: int = 0
    seconds: float = 0.0
    extract_seconds: float = 0.0
    emit_error: str = ""
    failed: list[tuple[Loc, int, str]] = field(default_factory=list)  # entry points not modelled: exit code, why
    cached: int = 0  # models not checked again: the same model text as one already checked

    @property
    def exit_code(self) -> int:
        codes = [c.exit_code for c in self.checked] + [code for _, code, _ in self.failed]
        if self.errors or self.emit_error:
            codes.append(EXIT_BAD_INPUT)
        return worst(codes)


def rust_paths(args: Sequence[str]) -> list[tuple[str, str]]:
    """(path to read, path to show) for each Rust file named: a file as given, a directory as every
    .rs file below it (sorted; target/ and hidden directories skipped)."""
    out: dict[str, tuple[str, str]] = {}
    for arg in args:
        if os.path.isdir(arg):
            found: list[str] = []
            for dirpath, dirs, files in os.walk(arg):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                found.extend(os.path.join(dirpath, f) for f in files if f.endswith(".rs"))
            if not found:
                raise UsageError(f"no .rs files under '{arg}'")
            for f in sorted(found, key=lambda f: PurePath(f).parts):
                out.setdefault(os.path.realpath(f), (f, os.path.normpath(f)))
        elif not os.path.exists(arg):
            raise UsageError(f"no such file or directory: '{arg}'")
        else:
            out.setdefault(os.path.realpath(arg), (arg, os.path.normpath(arg)))
    return list(out.values())


def _site_of_entry(m: Model) -> Site:
    r = m.root
    return Site(f"entry point ({r.kind})", r.node.loc, r.enclosing, "", ())


def scan(args: Sequence[str], opts: Options, emit_dir: str | None = None,
         progress: Callable[[int, int], None] | None = None) -> ScanResult:
    """Parse, index, extract, check. Every Rust file that cannot be read or parsed is a located
    error (the others are still scanned); a model that does not load is its site's `bad input`."""
    start = time.monotonic()
    res = ScanResult()
    for path, shown in rust_paths(args):
        try:
            res.files.append(read_rust(path, shown))
        except RustError as e:
            res.errors.append(e)
    idx = index_mod.build(res.files)
    res.lines = idx.lines
    firsts: list[Model] = []  # each entry point on its own, to see which resources they share by type
    for root in idx.roots:
        with contextlib.suppress(Exception):  # a failure is reported below, when it is extracted for good
            firsts.append(extract(idx, root))
    models: list[Model] = []
    for root in idx.roots:
        try:
            first = next((m for m in firsts if m.root is root), None)
            with_them = companions_of(first, firsts) if first is not None else ()
            models.append(extract(idx, root, with_them) if with_them or first is None else first)
        except RecursionError:
            res.failed.append((root.node.loc, EXIT_INCONCLUSIVE, "the code is nested too deeply to model "
                               f"({root.kind} in `{root.enclosing}`): not checked"))
        except Exception as e:  # mcheck's fault, reported per entry point; the others are still checked
            res.failed.append((root.node.loc, EXIT_INTERNAL_ERROR, f"internal error while extracting the model of "
                               f"this {root.kind} ({type(e).__name__}: {e}); please report it with the code"))
    names: dict[str, int] = {}
    shapes: dict[str, Outcome] = {}
    res.extract_seconds = time.monotonic() - start
    def check_one(m: Model, fname: str) -> Checked:
        written = False
        path = os.path.join(emit_dir, fname) if emit_dir else os.path.join("scan-models", fname)
        if emit_dir:
            try:
                Path(emit_dir).mkdir(parents=True, exist_ok=True)
                Path(path).write_text(m.text, encoding="utf-8")
                written = True
            except OSError as e:
                res.emit_error = f"cannot write --emit-models {emit_dir}: {e.strerror or e}"
        key = _shape(m.text)
        if key in shapes:  # NOTE(model-cache)
            outcome = replace(shapes[key], path=path)
            res.cached += 1
        else:
            outcome = shapes[key] = run_source(path, m.text, opts, Budget(opts.timeout, opts.max_memory_mib))
        c = Checked(m, outcome, path, written)
        c.blamed = _blame(c)
        c.doubt = _doubt(c)
        return c

    per_site: dict[tuple[int, int], Checked] = {}  # (id of an entry's Checked, site index) -> its own check
    for done, m in enumerate(models):
        if progress is not None:
            progress(done, len(models))
        n = names.get(m.name, 0)
        names[m.name] = n + 1
        base = m.name if n == 0 else f"{m.name}_{n + 1}"
        c = check_one(m, f"{base}.mc")
        res.checked.append(c)
        # NOTE(per-site): the entry's hang is blamed on one site; assume that one fixed (its future
        # holds nothing) and check again for the next, until a variant is not a futurelock.
        fixed: list[int] = []
        cur = c
        while cur.blamed is not None and cur.verdict == "futurelock" and cur.blamed not in fixed \
                and len(fixed) + 1 < min(len(m.sites), MAX_VARIANTS + 1):
            fixed.append(cur.blamed)
            text = neutralize(m.text, [m.sites[i].future for i in fixed])
            if text is None:
                break
            rest = [i for i in range(len(m.sites)) if i not in fixed]
            variant = replace(m, text=text, name=f"{base}_site{rest[0] + 1}")
            cur = check_one(variant, f"{variant.name}.mc")
            cur.variant = True
            cur.assumes = tuple(m.sites[i].loc for i in fixed)
            res.checked.append(cur)
            for i in rest:
                per_site[(id(c), i)] = cur
    # One result per site; a site reached from several entry points keeps its worst verdict.
    by_loc: dict[Loc, SiteResult] = {}
    for c in res.checked:
        if c.variant:
            continue  # its sites are reported through per_site
        sites = c.model.sites or [_site_of_entry(c.model)]
        for i, s in enumerate(sites):
            own = per_site.get((id(c), i), c)
            sr = SiteResult(s, own, blamed=(own.blamed == i) if c.model.sites else True)
            old = by_loc.get(s.loc)
            if old is None or _rank(sr) > _rank(old):
                by_loc[s.loc] = sr
    res.sites = sorted(by_loc.values(), key=lambda s: (s.site.loc.path, s.site.loc.line, s.site.loc.col))
    res.seconds = time.monotonic() - start
    return res


_FROM = re.compile(r"  // from \S+$", re.M)


def _shape(text: str) -> str:
    """NOTE(model-cache): a model's text without its comments. Two entry points whose models are
    the same text but for where they came from (tests of one shape, generated handlers) have the
    same verdict and trace, step for step; the second reuses the first's outcome, and its own
    source map places that trace in its own Rust."""
    return "\n".join(line for line in _FROM.sub("", text).splitlines() if not line.startswith("//"))


def _rank(s: SiteResult) -> tuple[int, int, int]:
    """The worst verdict; then the one blamed on the site; then the model of the site's own entry
    point rather than one it runs in as a companion."""
    code = s.checked.exit_code
    order = {0: 0, EXIT_INCONCLUSIVE: 1, 1: 2, EXIT_BAD_INPUT: 3, 4: 4}
    return (order.get(code, 0), int(s.blamed), int(s.checked.model.root.enclosing == s.site.function))


def _doubt(c: Checked) -> str:
    """NOTE(doubt): a stuck state that waits on a resource the model does not follow faithfully (a
    capacity above what the model holds, `close()`, `try_acquire` left out) may be the model's and
    not the code's: it is reported inconclusive, with the reason, and its trace is kept."""
    o = c.outcome
    if o.result is None or o.result.trace is None or o.model is None:
        return ""
    names = [o.model.resources[r].name for r in o.result.trace.report.resources]
    why = [f"`{n}`: {c.model.approximate[n]}" for n in names if n in c.model.approximate]
    return f"possible {o.result.status.value}, on a resource the model approximates ({'; '.join(why)})" if why else ""


def _blame(c: Checked) -> int | None:
    """NOTE(blame): the site a futurelock belongs to: the one whose future the stuck report names
    dormant (by the model's local name, or the model line it is declared on), else the first."""
    o = c.outcome
    sites = c.model.sites
    if not sites or o.result is None or o.result.trace is None or o.model is None:
        return None
    if o.result.status is not Status.FUTURELOCK:
        return 0
    rep = o.result.trace.report
    d = Describer(o.model)
    labels = [d.var_ancestor(i).label for i in rep.dormant]
    for label in labels:
        for i, s in enumerate(sites):
            if s.future and (label == s.future or re.fullmatch(rf"{re.escape(s.future)}(_\d+)?", label)):
                return i
    return 0
