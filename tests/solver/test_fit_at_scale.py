"""The shortcuts for large packings and relaxations make the very choices of the plain loops.

:func:`skaal.solver.place.first_fit_grown` packs again only what the
instances before a new one left, and :func:`skaal.solver.fitarrays.best_dots`
scores the instances over numpy arrays; both must give, unit for unit, what
first fit from scratch and the dot-product loop give (the plans of the
``users`` draws depend on it).  So do the orders and family sums placement
computes over arrays, and the relaxation's families of shapes.
"""

from __future__ import annotations

import random

import pytest

from skaal.solver import fitarrays, place, pooled_model
from skaal.solver.decompose import SCALE, Unit, UnitOption
from skaal.solver.place import first_fit_grown, first_fit_partial, tightened
from skaal.solver.servers import Server
from tests.solver._factories import pg_server


def _server() -> Server:
    """Three classes limited in reads and writes, one of them with up to two replicas."""
    return pg_server(
        [
            ("small", 2.0, 300.0, 100.0, 0),
            ("medium", 5.0, 800.0, 300.0, 2),
            ("large", 20.0, 3000.0, 800.0, 0),
        ],
        quota=1000,
    )


def _units(seed: int, n: int) -> list[Unit]:
    rng = random.Random(seed)
    return [
        Unit(
            (f"u{i:04d}",),
            (UnitOption("pg", 0, 0),),
            (
                round(rng.uniform(0.1, 5.0) * SCALE),
                round(rng.choice((0.0, rng.uniform(0.0, 400.0))) * SCALE),
                round(rng.choice((0.0, rng.uniform(0.0, 150.0))) * SCALE),
                SCALE,
            ),
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("keep_streams", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_first_fit_grown_packs_as_first_fit_from_scratch(seed: int, keep_streams: bool) -> None:
    shapes = list(_server().shapes)
    units = _units(seed, 200)
    rng = random.Random(seed)
    extra = [rng.choice(shapes) for _ in range(20)]
    before, rest = units[:30], units[30:]
    packed, _ = first_fit_partial(rest, extra, before=before)
    # The units' order per largest instance, kept over the rounds as _grow does.
    streams: dict[tuple[int, ...], list[Unit]] | None = {} if keep_streams else None
    for _ in range(8):
        added = rng.choice(shapes)
        grown, left = first_fit_grown(rest, extra, added, packed, before=before, streams=streams)
        extra.append(added)
        again, left_again = first_fit_partial(rest, extra, before=before)
        assert [(s, [u.name for u in m]) for s, m in grown] == [
            (s, [u.name for u in m]) for s, m in again
        ]
        assert [u.name for u in left] == [u.name for u in left_again]
        packed = grown


def _dots_by_loop(
    free: list[list[int]],
    weights: list[list[float]],
    limited: list[int],
    usages: list[tuple[int, ...]],
) -> list[int]:
    out = []
    for usage in usages:
        best, best_score = -1, -1.0
        for i, room in enumerate(free):
            score = 0.0
            for j, d in enumerate(limited):
                if room[d] < usage[d]:
                    break
                score += usage[d] * room[d] * weights[i][j]
            else:
                if score > best_score:
                    best, best_score = i, score
        out.append(best)
        if best >= 0:
            for d in range(len(usage)):
                free[best][d] -= usage[d]
    return out


@pytest.mark.parametrize("seed", range(4))
def test_best_dots_chooses_as_the_loop(seed: int) -> None:
    shapes = list(_server().shapes)
    rng = random.Random(seed)
    bins = [rng.choice(shapes) for _ in range(60)]
    caps = [[c if c else 1 << 62 for c in shape.capacity] for shape in bins]
    limited = [0, 1, 2, 3]
    weights = [[1.0 / (row[d] * row[d]) for d in limited] for row in caps]
    usages = [u.usage for u in _units(seed, 500)]
    mine = [list(row) for row in caps]
    theirs = [list(row) for row in caps]
    assert fitarrays.best_dots(mine, weights, limited, usages) == _dots_by_loop(
        theirs, weights, limited, usages
    )
    assert mine == theirs


@pytest.mark.parametrize("limited", [[1, 2], [3], []])
def test_best_dots_chooses_as_the_loop_on_some_dimensions(limited: list[int]) -> None:
    shapes = list(_server().shapes)
    rng = random.Random(len(limited))
    caps = [[c if c else 1 << 62 for c in rng.choice(shapes).capacity] for _ in range(30)]
    weights = [[1.0 / (row[d] * row[d]) for d in limited] for row in caps]
    usages = [u.usage for u in _units(11, 300)]
    mine = [list(row) for row in caps]
    theirs = [list(row) for row in caps]
    assert fitarrays.best_dots(mine, weights, limited, usages) == _dots_by_loop(
        theirs, weights, limited, usages
    )
    assert mine == theirs


def test_pairs_within_are_the_pairs_of_combinations_under_the_top() -> None:
    usages = [u.usage for u in _units(7, 120)]
    top = [8 * SCALE, 700 * SCALE, 250 * SCALE, 1 << 62]
    expected = [
        (i, j)
        for i in range(len(usages))
        for j in range(i + 1, len(usages))
        if all(a + b <= t for a, b, t in zip(usages[i], usages[j], top, strict=True))
    ]
    assert 0 < len(expected) < len(usages) * (len(usages) - 1) // 2
    assert fitarrays.pairs_within(usages, top) == expected


def _first_by_loop(free: list[list[int]], usages: list[tuple[int, ...]]) -> list[int]:
    out = []
    for usage in usages:
        index = next(
            (
                i
                for i, room in enumerate(free)
                if all(u <= r for u, r in zip(usage, room, strict=True))
            ),
            -1,
        )
        out.append(index)
        if index >= 0:
            free[index] = [r - u for r, u in zip(free[index], usage, strict=True)]
    return out


@pytest.mark.parametrize("seed", range(4))
def test_first_fits_chooses_as_the_loop(seed: int) -> None:
    shapes = list(_server().shapes)
    rng = random.Random(seed)
    rooms = [
        [c if c is not None else 1 << 62 for c in rng.choice(shapes).capacity] for _ in range(40)
    ]
    usages = [u.usage for u in _units(seed, 600)]
    mine = [list(row) for row in rooms]
    theirs = [list(row) for row in rooms]
    chosen = fitarrays.first_fits(mine, usages)
    assert chosen == _first_by_loop(theirs, usages)
    assert -1 in chosen  # some units are left over: the rooms run out
    assert mine == theirs


def test_first_fits_asked_whether_all_fit_stops_at_the_first_unit_left() -> None:
    shapes = list(_server().shapes)
    rng = random.Random(5)
    rooms = [
        [c if c is not None else 1 << 62 for c in rng.choice(shapes).capacity] for _ in range(40)
    ]
    usages = [u.usage for u in _units(5, 600)]
    everything = fitarrays.first_fits([list(row) for row in rooms], usages)
    stopped = fitarrays.first_fits([list(row) for row in rooms], usages, whole=True)
    first_left = everything.index(-1)
    assert first_left < len(usages) - 1  # units after it were not tried
    assert stopped == everything[: first_left + 1]


@pytest.mark.parametrize("seed", range(4))
def test_tightened_merges_over_arrays_as_its_loop(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pairs weighed over arrays and kept between merges (place._MANY_PAIRS and more
    instances) merge the very pairs, into the very shapes, that the pair loop does."""
    shapes = list(_server().shapes)
    rng = random.Random(seed)
    units = _units(seed, 240)
    # One to four units an instance, on a shape too large for them: many merges to make,
    # with ties between equal savings.
    bins: place.Bins = []
    while units:
        count = rng.randint(1, 4)
        bins.append((shapes[-1], units[:count]))
        units = units[count:]
    assert len(bins) * (len(bins) - 1) // 2 >= place._MANY_PAIRS
    over_arrays = tightened(bins, shapes)
    monkeypatch.setattr(place, "_MANY_PAIRS", 10**9)
    by_loop = tightened(bins, shapes)
    assert [(s, [u.name for u in m]) for s, m in over_arrays] == [
        (s, [u.name for u in m]) for s, m in by_loop
    ]
    assert len(over_arrays) < len(bins)


def test_best_dots_leaves_a_unit_no_room_holds_and_goes_on() -> None:
    caps = [[10, 100, 50, 5], [20, 40, 80, 5]] * 25
    weights = [[1.0 / (c * c) for c in row] for row in caps]
    usages = [(5, 30, 10, 1), (25, 1, 1, 1), (5, 10, 60, 1), (1, 200, 1, 1), (2, 2, 2, 1)]
    mine = [list(row) for row in caps]
    theirs = [list(row) for row in caps]
    chosen = fitarrays.best_dots(mine, weights, [0, 1, 2, 3], usages)
    assert chosen == _dots_by_loop(theirs, weights, [0, 1, 2, 3], usages)
    assert chosen[1] == chosen[3] == -1
    assert mine == theirs


def test_best_dots_of_no_units_changes_no_room() -> None:
    caps = [[10, 100, 50, 5]] * 3
    mine = [list(row) for row in caps]
    assert fitarrays.best_dots(mine, [[0.01, 0.0001, 0.0004, 0.04]] * 3, [0, 1, 2, 3], []) == []
    assert mine == caps


def _by_share_loop(units: list[Unit], dims: list[tuple[int, int]], summed: bool) -> list[str]:
    """The order as the packings sorted before the shares were computed over arrays."""

    def key(unit: Unit) -> tuple[float, str]:
        shares = [unit.usage[d] / top for d, top in dims]
        return (-(sum(shares) if summed else max(shares, default=0.0)), unit.name)

    return [u.name for u in sorted(units, key=key)]


@pytest.mark.parametrize("summed", [False, True])
@pytest.mark.parametrize(
    "dims",
    [
        [(0, 20 * SCALE), (1, 3000 * SCALE), (2, 800 * SCALE), (3, 100 * SCALE)],
        [(1, 7 * SCALE), (2, 3 * SCALE)],
        [(3, SCALE)],
        [],
    ],
)
def test_by_share_orders_over_arrays_as_its_loop(
    dims: list[tuple[int, int]], summed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shares computed over numpy arrays order the units as the loop: the same quotients
    and sums, ties (units of one usage) by name."""
    units = _units(5, 400)
    units += [Unit((f"t{i:03d}",), units[0].options, units[i % 7].usage) for i in range(60)]
    random.Random(1).shuffle(units)
    expected = _by_share_loop(units, dims, summed)
    for threshold in (10**9, 0):  # the loop, then the arrays
        monkeypatch.setattr(fitarrays, "SHARES", threshold)
        assert [u.name for u in place.by_share(units, dims, summed=summed)] == expected


@pytest.mark.parametrize("with_too_big", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_hall_needs_over_arrays_sums_as_its_loop(
    seed: int, with_too_big: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Families and their sums over numpy arrays are the loop's, in the same order; a
    unit no shape holds is told the same way."""
    kinds = list(_server().shapes)
    units = _units(seed, 300)
    if with_too_big:
        units.insert(100, Unit(("huge",), units[0].options, (1, 10**15, 0, 1)))
    answers = []
    for threshold in (10**9, 0):  # the loop, then the arrays
        monkeypatch.setattr(fitarrays, "SHARES", threshold)
        needs = place.hall_needs(units, kinds)
        answers.append(None if needs is None else list(needs.items()))
    assert answers[0] == answers[1]
    if with_too_big:
        assert answers[0] is None
    else:
        assert answers[0] is not None
        assert len(answers[0]) > 1  # units of several families


@pytest.mark.parametrize("seed", range(3))
def test_pooled_families_by_bits_are_those_by_rows(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The relaxation's families of shapes told apart by integer bits are the ones told
    apart by whole rows, and each family's largest usage is the loop's."""
    shapes = list(_server().shapes)
    usages = sorted({u.usage for u in _units(seed, 400)})
    by_bits = pooled_model.holding(shapes, usages)
    monkeypatch.setattr(fitarrays, "FAMILY_BITS", 0)
    assert pooled_model.holding(shapes, usages) == by_bits
    assert len(set(by_bits.values())) > 1
    expected: dict[frozenset[int], list[int]] = {}
    for usage in usages:
        most = expected.setdefault(by_bits[usage], list(usage))
        most[:] = [max(a, b) for a, b in zip(most, usage, strict=True)]
    assert pooled_model.largest_per_family(usages, [by_bits[u] for u in usages]) == expected
    assert pooled_model.largest_per_family([], []) == {}
