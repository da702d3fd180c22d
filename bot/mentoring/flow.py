"""The min-cost flow behind mentorship matching (OR-tools), and the mentor prices its solution implies.

Arcs are (mentee row, mentor column, value): value is the pair's score in thousandths of a point.
Each taken arc is worth value + 1, so that even a pair scoring 0 beats leaving the mentee out.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from ortools.graph.python.min_cost_flow import SimpleMinCostFlow

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


def assign(rows: Ints, cols: Ints, values: Ints, capacity: Ints) -> Bools:
    """Which arcs to take for the best total: each row at most once, column ``c`` at most ``capacity[c]`` times.

    Network: mentee → mentor (capacity 1, cost −(value + 1)), mentor → sink (its capacity),
    mentee → sink (cost 0: "unmatched"); each mentee supplies 1, the sink takes them all.
    """
    if len(rows) == 0:
        return np.zeros(0, dtype=bool)
    mentees, row_of = np.unique(rows, return_inverse=True)  # nodes: mentees, mentors, then the sink
    mentors, col_of = np.unique(cols, return_inverse=True)
    sink = len(mentees) + len(mentors)
    people, guides = np.arange(len(mentees), dtype=np.int32), np.arange(len(mentees), sink, dtype=np.int32)
    flow = SimpleMinCostFlow()
    for tails, heads, caps, costs in (
        (people, np.full(len(people), sink, np.int32), np.ones(len(people), np.int64), np.zeros(len(people), np.int64)),
        (guides, np.full(len(guides), sink, np.int32), capacity[mentors], np.zeros(len(guides), np.int64)),
    ):
        flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    arcs = np.asarray(
        flow.add_arcs_with_capacity_and_unit_cost(
            row_of.astype(np.int32),
            (len(mentees) + col_of).astype(np.int32),
            np.ones(len(rows), np.int64),
            -(values + 1),
        ),
        dtype=np.int32,
    )
    flow.set_nodes_supplies(
        np.append(people, sink).astype(np.int32), np.append(np.ones(len(people), np.int64), -len(people))
    )
    status = flow.solve()
    if status != SimpleMinCostFlow.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed: {status}")
    taken: Bools = np.asarray(flow.flows(arcs)) > 0
    return taken


def prices(rows: Ints, cols: Ints, values: Ints, taken: Bools, capacity: Ints) -> Ints:
    """The smallest mentor prices (LP duals) that make the ``taken`` arcs an optimal choice.

    A mentor with a free slot costs 0; a full one costs as much as its best unserved taker would
    gain from it, that gain being what the taker gets elsewhere (its own pair's value less that
    mentor's price, or 0 when unmatched). Bellman-Ford: each step follows one more link of a chain.
    """
    value = values + 1
    load = np.bincount(cols[taken], minlength=len(capacity))
    rival = ~taken & (load >= capacity)[cols]
    order = np.argsort(cols[rival], kind="stable")
    r_rows, r_cols, r_value = rows[rival][order], cols[rival][order], value[rival][order]
    starts = np.flatnonzero(np.r_[True, r_cols[1:] != r_cols[:-1]]) if len(r_cols) else np.zeros(0, np.int64)
    held_rows, held_cols, held_value = rows[taken], cols[taken], value[taken]
    price = np.zeros(len(capacity), dtype=np.int64)
    surplus = np.zeros(int(rows.max(initial=-1)) + 1, dtype=np.int64)
    for _ in range(len(capacity) + 1):  # no chain is longer; in practice a few dozen steps
        surplus[held_rows] = held_value - price[held_cols]
        new = np.zeros_like(price)
        if len(starts):
            new[r_cols[starts]] = np.maximum(np.maximum.reduceat(r_value - surplus[r_rows], starts), 0)
        if np.array_equal(new, price):
            break
        price = new
    return price
