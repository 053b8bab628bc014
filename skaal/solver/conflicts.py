"""Global conflicts: constraints that hold one by one but not together.

Every resource has options, yet no plan exists.  The causes, and where each
is found:

* co-location — a ``collocate_with`` chain whose resources share no backend
  (found by :mod:`.decompose` without a solver);
* server capacity — the resources only servers can hold exceed what the
  servers' quotas of their largest instances hold (:mod:`.capacity` counts
  it, with the numbers for the message), or cannot be packed at all;
* ``max_backends`` — the pooled model (:mod:`.pooled`) has no solution; it
  is re-solved with growing limits to find how many backends are needed;
* budget — the optimum costs more than the budget (the budget never changes
  which plan is cheapest, so no solver call is needed to prove it);
* a mode's regional quota — resources that can only be provisioned in a
  mode need more units in a Region than the provider lets one account
  provision there (:mod:`.mode_quotas`);
* a count quota — resources that only one backend serves create more of
  what it counts (tables, topics) than one account holds, or the resources
  moved off it to keep within the quota fit nowhere else (:mod:`.counts`).

Each becomes a :class:`~skaal.solver.diagnosis.GlobalConflict` with the
relaxation that would remove it, raised as an ``UnsatisfiableError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set

from skaal.blueprint.model import SourceLocation
from skaal.catalog.model import Backend, CountQuota, Mode
from skaal.errors import UnsatisfiableError
from skaal.solver.capacity import DIMENSION_WORDS, CountedTerm, Overflow
from skaal.solver.checks import fmt_num
from skaal.solver.count_pools import Quotas
from skaal.solver.decompose import Unit
from skaal.solver.diagnosis import Diagnosis, GlobalConflict, unsatisfiable
from skaal.solver.problem import Problem

__all__ = [
    "budget",
    "capacity",
    "collocation",
    "count_quota",
    "counts_moved",
    "max_backends",
    "mode_quota",
    "packing",
]

_SHOWN = 5


def _declarations(problem: Problem, names: Iterable[str]) -> tuple[tuple[str, SourceLocation], ...]:
    wanted = set(names)
    return tuple((r.spec.name, r.spec.location) for r in problem.resources if r.spec.name in wanted)


def _app(problem: Problem) -> tuple[tuple[str, SourceLocation], ...]:
    location = problem.blueprint.location
    return () if location is None else ((f"App({problem.blueprint.app!r})", location),)


def _raise(problem: Problem, *found: GlobalConflict) -> UnsatisfiableError:
    return unsatisfiable(Diagnosis(catalog=problem.catalog.name, conflicts=found))


def collocation(problem: Problem, chains: Sequence[tuple[str, ...]]) -> UnsatisfiableError:
    """Co-located resources with no backend in common."""
    found = []
    for chain in chains:
        options = {
            r.spec.name: ", ".join(o.backend for o in r.options)
            for r in problem.resources
            if r.spec.name in chain
        }
        detail = "co-located resources share no backend: " + "; ".join(
            f"{name} can use {opts}" for name, opts in options.items()
        )
        peers = [a for a, b in problem.collocations if a in chain and b in chain]
        drop = peers[0] if peers else chain[0]
        found.append(
            GlobalConflict(
                constraint="collocate_with",
                declarations=_declarations(problem, chain),
                detail=detail,
                relaxation=f"drop collocate_with on {drop}",
            )
        )
    return _raise(problem, *found)


def max_backends(problem: Problem, needed: int | None, part: Sequence[Unit]) -> UnsatisfiableError:
    """No set of ``max_backends`` backends gives every resource an option.

    ``needed`` is the fewest distinct backends a plan needs (``None``: even
    all of them do not suffice); the resources with the fewest options are
    named first: they pin down distinct backends.
    """
    forcing = [m for u in sorted(part, key=lambda u: (len(u.options), u.name)) for m in u.members]
    return _raise(
        problem,
        GlobalConflict(
            constraint="max_backends",
            declarations=_app(problem) + _declarations(problem, forcing[:_SHOWN]),
            detail=(
                f"max_backends={problem.max_backends} but the resources need "
                f"{'more' if needed is None else needed} distinct backends"
            ),
            relaxation=None if needed is None else f"max_backends={needed}",
        ),
    )


def _readable(value: float) -> str:
    """A figure for a sentence: whole and grouped from a thousand up (``467,995``)."""
    return f"{round(value):,}" if abs(value) >= 1000 else fmt_num(value)


def capacity(problem: Problem, short: Overflow) -> UnsatisfiableError:
    """Units that only servers (and backends with count quotas) can hold exceed what the
    servers' quotas and the count quotas hold (with numbers)."""
    noun, unit = DIMENSION_WORDS[short.dimension]
    count = len(short.members)
    placed = _listed(short.backends)

    def amount(value: float) -> str:
        spaced = f" {unit}" if unit == "GB" else unit
        return f"{_readable(value)}{spaced}"

    def term(label: str, quota: int, units: bool, shown: str) -> str:
        shared = " (one quota)" if " or " in label else ""
        per = " quota units x " if units else " x "
        return f"{quota}{per}{shown} on {label}{shared}"

    if short.dimension == len(DIMENSION_WORDS) - 1:
        need = f"{count:,} resources can only be placed on {placed}"
        most = " + ".join(
            [term(s, q, u, _readable(c)) for s, q, c, u in short.terms]
            + [_counted_words(problem, c) for c in short.counted]
        )
        detail = (
            f"{need}, and the largest plan the catalog allows holds "
            f"{_readable(short.most)} resources ({most})"
        )
    else:
        most = " + ".join(term(s, q, u, amount(c)) for s, q, c, u in short.terms)
        what = (
            ": the most per unit of quota"
            if any(u for *_, u in short.terms)
            else " instances of the largest class"
        )
        together = f"together they need {amount(short.demand)} of {noun}"
        if short.counted:
            held = sum(c.most for c in short.counted)
            holds = "holds" if len(short.counted) == 1 else "hold"
            pools = "; ".join(_pools_words(problem, c) for c in short.counted)
            together = (
                f"{_listed([c.backend for c in short.counted])} {holds} at most {held:,} of them "
                f"({pools}), and the other {count - held:,} need at least "
                f"{amount(short.demand)} of {noun}"
            )
        detail = (
            f"{count:,} resources can only be placed on {placed}; {together}, and the largest "
            f"plan the catalog allows holds {amount(short.most)} ({most}{what})"
        )
    return _raise(
        problem,
        GlobalConflict(
            constraint="server capacity and quota" if short.counted else "server capacity",
            declarations=_declarations(problem, short.members[:_SHOWN]),
            detail=detail,
            relaxation=_capacity_fix(problem, short),
        ),
    )


def _listed(names: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _pools_words(problem: Problem, term: CountedTerm) -> str:
    """``2,500 tables in us-east-1``: the rooms of a count quota."""
    _, quota = _count_quota(problem, term)
    return "; ".join(
        f"{room:,} {term.counted} {quota.where(region)}"
        + (f", {each} a resource" if each > 1 else "")
        for region, room, each in term.rooms
    )


def _counted_words(problem: Problem, term: CountedTerm) -> str:
    """``2,500 on dynamodb (2,500 tables in us-east-1)``: what a count quota holds."""
    return f"{term.most:,} on {term.backend} ({_pools_words(problem, term)})"


def _count_quota(problem: Problem, term: CountedTerm) -> tuple[Backend, CountQuota]:
    """The backend and the count quota ``term`` reads."""
    return Quotas(problem).of((term.backend, term.counted, ""))  # any region: one quota


def _capacity_fix(problem: Problem, short: Overflow) -> str:
    """What would let the units of ``short`` fit: larger classes, raised quotas, relaxed
    declarations."""
    raised = [f"[backends.{s}.server] quota" for s in short.servers]
    fixed: list[str] = []
    across = ""
    for term in short.counted:
        backend, quota = _count_quota(problem, term)
        if quota.adjustable:
            raised.append(f"{_quota_key(backend, quota)} quota")
        else:
            fixed.append(f"{backend.name}'s {quota.name}")
            across = across or _across(quota)
    steps = []
    if short.servers:
        steps.append(f"add a larger class to {' or '.join(short.servers)}")
    if raised:
        steps.append(f"raise {', '.join(raised)} (a quota request)")
    if fixed:
        steps.append(f"split the app{across} ({' and '.join(fixed)} are not raised)")
    relax = _dedicated_relaxation(problem, short.members)
    steps.append(f"relax {relax}" if relax else "relax the constraints that need these servers")
    return ", ".join(steps[:-1]) + f", or {steps[-1]}" if len(steps) > 1 else steps[0]


def _dedicated_relaxation(problem: Problem, members: Sequence[str]) -> str | None:
    """The change that lets the first member use a backend that is not a server, if one."""
    servers = {s.backend.name for s in problem.shared}
    named = set(members)  # thousands of members, a hundred thousand resources
    first = next((r for r in problem.resources if r.spec.name in named), None)
    if first is None:
        return None
    best: tuple[int, str] | None = None
    for backend, rejections in first.rejections:
        if backend in servers or any(r.constraint == "kind" for r in rejections):
            continue
        if not rejections or any(r.relaxation is None for r in rejections):
            continue
        text = " and ".join(sorted({r.relaxation or "" for r in rejections}))
        candidate = (len(rejections), f"{text} on {first.spec.name} (to use {backend})")
        if best is None or candidate[0] < best[0]:
            best = candidate
    return None if best is None else best[1]


def budget(
    problem: Problem, total: float, costs: Mapping[str, float], *, bound: float | None = None
) -> UnsatisfiableError:
    """The cheapest plan costs more than the declared budget.

    ``costs`` holds each resource's own cost and each shared instance's fee
    (named ``"<instance> (instance fee)"``), so the listed items explain the total.
    ``bound``: the plan is not proven the cheapest, and every plan costs at least
    that; within the budget, a cheaper plan may exist that the planner did not find,
    and the message says so rather than call the plan the cheapest.
    """
    assert problem.budget_usd_month is not None
    top = sorted(costs.items(), key=lambda item: (-item[1], item[0]))[:_SHOWN]
    listed = ", ".join(f"{name} ${cost:,.2f}" for name, cost in top)
    limit = problem.budget_usd_month
    if bound is None:
        what = (
            f"the cheapest plan costs ${total:,.2f}/month, over the budget of ${limit:,.2f}/month"
        )
    elif bound > limit:
        what = (
            f"every plan costs at least ${bound:,.2f}/month (the cheapest found: "
            f"${total:,.2f}), over the budget of ${limit:,.2f}/month"
        )
    else:
        what = (
            f"the cheapest plan found costs ${total:,.2f}/month, over the budget of "
            f"${limit:,.2f}/month; every plan costs at least ${bound:,.2f}, so one within "
            "the budget may exist that the planner did not find"
        )
    return _raise(
        problem,
        GlobalConflict(
            constraint="budget",
            declarations=_app(problem) + _declarations(problem, [n for n, _ in top]),
            detail=f"{what} (most expensive: {listed})",
            relaxation=f"raise budget to ${total:,.2f}/month",
        ),
    )


def packing(
    problem: Problem, backend: str, names: Sequence[str], *, pooled: bool = False
) -> UnsatisfiableError:
    """Resources placed on a server backend that could not be packed into its instances;
    ``pooled``: not even their capacity pooled within the quotas holds them (the linear
    relaxation of every plan has no solution), a proof."""
    if pooled:
        servers = backend.split(" or ")
        quotas = ", ".join(f"[backends.{s}.server] quota" for s in servers)
        detail = (
            f"{len(names):,} resources cannot all be placed: the instances {backend} may run "
            "within their quotas cannot hold the share that has no other backend, even "
            "with their capacity pooled"
        )
        fix = (
            f"raise {quotas} (a quota request), add a larger class, or relax the "
            "constraints that need these servers"
        )
    else:
        detail = (
            f"{len(names):,} resources could not be packed into the instances {backend} may run"
        )
        fix = "lower their sizes or rates, or allow them a dedicated backend"
    return _raise(
        problem,
        GlobalConflict(
            constraint="server capacity",
            declarations=_declarations(problem, names[:_SHOWN]),
            detail=detail,
            relaxation=fix,
        ),
    )


def mode_quota(
    problem: Problem,
    *,
    backend: Backend,
    mode: Mode,
    region: str,
    names: Sequence[str],
    units: tuple[int, int],
) -> UnsatisfiableError:
    """Resources with no other mode of ``backend`` than ``mode`` need, provisioned together
    in ``region``, more units (``units``: read and write) than the mode's regional quota."""
    resources = [r for r in problem.resources if r.spec.name in set(names)]
    asked = []
    quotas = (("read", mode.quota_read_units), ("write", mode.quota_write_units))
    for (word, quota), needed in zip(quotas, units, strict=True):
        if quota is not None and needed > quota:
            asked.append(f"{needed:,} {word} units, the quota {quota:,}")
    key = f"[backends.{backend.name}.modes.{mode.name}]"
    return _raise(
        problem,
        GlobalConflict(
            constraint="quota",
            declarations=_declarations(problem, names),
            detail=(
                f"{len(resources):,} resources can only be provisioned on {backend.name} in "
                f"mode {mode.name!r}, and together they pass what one account may provision "
                f"in {region} ({'; '.join(asked)})"
            ),
            relaxation=(
                f"raise quota_read_units / quota_write_units in {key} (a quota request), or "
                "lower the declared reads and writes of these resources"
            ),
        ),
    )


def _quota_key(backend: Backend, quota: CountQuota) -> str:
    return f"[backends.{backend.name}.counts.{quota.name}]"


def _quota_raise(backend: Backend, quota: CountQuota) -> str:
    if quota.adjustable:
        return (
            f"ask the provider to raise it and state the new quota in "
            f"{_quota_key(backend, quota)}, or"
        )
    return f"the provider does not raise it: split the app{_across(quota)}, or"


def _across(quota: CountQuota) -> str:
    """Where the parts of an app split for ``quota`` go: each app has its own of what a
    quota per app counts, and shares an account's."""
    return "" if quota.scope == "app" else " across accounts"


def _noun(kinds: Set[str]) -> str:
    """What resources of ``kinds`` are called together: ``functions``, or ``resources``."""
    return f"{next(iter(kinds))}s" if len(kinds) == 1 else "resources"


def _reserved_words(quota: CountQuota) -> str:
    """What the build keeps of ``quota`` for the app itself, in words ("" for none)."""
    if not quota.reserved:
        return ""
    return f", {quota.reserved:,} of them for what the build creates for the app itself"


def count_quota(
    problem: Problem,
    backend: Backend,
    quota: CountQuota,
    pool: tuple[str, str, str],
    names: Sequence[str],
    *,
    used: int,
) -> UnsatisfiableError:
    """Resources that only ``backend`` serves create together ``used`` of what ``quota``
    counts in its region (or account), more than the provider's quota."""
    wanted = set(names)
    where = quota.where(pool[2])
    per = quota.per_words()
    kinds = {r.spec.kind for r in problem.resources if r.spec.name in wanted}
    others = [b for b in problem.catalog.backends if b is not backend and kinds & set(b.kinds)]
    over = f"{used - quota.room:,} {quota.name} over"
    fewer = (
        f"relax the declarations of enough of these resources ({over}) that another backend "
        "serves them"
        if others
        else f"split the app{_across(quota)}, or declare fewer of them ({over})"
    )
    return _raise(
        problem,
        GlobalConflict(
            constraint="quota",
            declarations=_declarations(problem, sorted(wanted)[:_SHOWN]),
            detail=(
                f"{len(wanted):,} {_noun(kinds)} can only be placed on {backend.name}, and "
                f"together they create {used:,} {quota.name} ({per}) {where}: {quota.holder} "
                f"holds at most {quota.quota:,} there{_reserved_words(quota)}"
            ),
            relaxation=(
                f"{_quota_raise(backend, quota)} {fewer}"
                if quota.adjustable or others
                else f"the provider does not raise it: {fewer}"  # splitting is in ``fewer``
            ),
        ),
    )


def counts_moved(
    problem: Problem,
    pools: Mapping[tuple[str, str, str], tuple[Backend, CountQuota, Sequence[str]]],
    error: UnsatisfiableError,
) -> UnsatisfiableError:
    """Keeping ``pools`` (each with its backend, quota and the resources placed there)
    within their count quotas moved resources to other backends, and ``error`` says why
    those cannot hold them."""
    found: list[GlobalConflict] = []
    for pool, (backend, quota, members) in sorted(pools.items()):
        where = quota.where(pool[2])
        found.append(
            GlobalConflict(
                constraint="quota",
                declarations=_declarations(problem, members[:_SHOWN]),
                detail=(
                    f"the {len(members):,} resources the optimum placed on {backend.name} "
                    f"{where} create more {quota.name} than {quota.holder} holds there "
                    f"({quota.quota:,}{_reserved_words(quota)}); the planner moved those past "
                    "it to other backends, each way it chooses them, and found none holding "
                    "them (below), though "
                    "it does not prove that no choice would fit"
                ),
                relaxation=f"{_quota_raise(backend, quota)} relax the conflict below",
            )
        )
    report = error.report
    after = report.conflicts if isinstance(report, Diagnosis) else ()
    if not after:
        after = (GlobalConflict(constraint="capacity", declarations=(), detail=error.what),)
    return _raise(problem, *found, *after)
