"""Rate budgets as the engine sees them: may a link's run start now, and if not, when is its turn.

Each link spends two budgets (connectors/ratelimit.py): its Exact division's (60 calls a minute and 5,000 a day
per app and division, followed from Exact's headers) and the installation's eAccounting client's (the documented
600 a minute is counted per client and endpoint, not per company, so every link's calls count in one budget).

A worker slot never sleeps on a spent budget: a run whose budget is spent is deferred (arq `Retry`) to its turn,
and the slot takes the next job (another link's, whose budget is its own). Turns are paced: the n-th run deferred
for a budget window gets `wait + n * spacing`, where `spacing` is what one run costs of the budget (about 1.5 Exact
calls per record, docs/flows/orders.md). So a back-fill's excess does not all fall due at the window's reset, but
at the rate the budget will admit it, and a quiet link's new record (its own budget untouched, due now) is never
behind more than one window's worth of another link's jobs. docs/engine.md, "Budgets and fairness", says why.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from arq.connections import ArqRedis

from connectors.eaccounting.factory import BUDGET_CALLS, BUDGET_WINDOW_SECONDS
from connectors.exact.factory import DivisionBudget
from connectors.keys import Keys
from connectors.ratelimit import RateBudget, Reservation

EXACT_CALLS_PER_RUN = 1.5  # the orders flow needs about 1.36 Exact calls per order
EXACT_MINUTE_LIMIT = 60  # until Exact's headers tell otherwise
EXACT_RESERVE = 3
EACCOUNTING_CALLS_PER_RUN = 1.0


@dataclass(frozen=True, slots=True)
class Budget:
    """One budget a link's runs spend: where it is counted and what one run costs of it."""

    system: str
    scope: str  # the division, or the eAccounting client id
    budget: RateBudget
    clock: Callable[[], float]
    spacing: Callable[[], Awaitable[float]]  # seconds of the budget one run uses
    reserve: int = 1  # calls a run may need: it starts only when the budget has that many left


class RunBudgets:
    """The budgets of one link, and the turns of the runs deferred on them."""

    def __init__(self, redis: ArqRedis, keys: Keys, budgets: list[Budget]) -> None:
        self._redis = redis
        self._keys = keys
        self._budgets = budgets

    def of(self, system: str) -> Budget | None:
        return next((b for b in self._budgets if b.system == system), None)

    async def wait(self) -> tuple[float, Budget | None]:
        """Seconds until every budget has a call left (0: now), and the budget that is spent (None: none)."""
        longest, spent = 0.0, None
        for budget in self._budgets:
            wait = await budget.budget.wait(budget.clock(), budget.reserve)
            if wait > longest:
                longest, spent = wait, budget
        return longest, spent

    async def admit(self) -> tuple[float, Budget | None, list[Reservation]]:
        """Reserve what a run needs of the budgets that can be reserved (the division's Exact budget: `reserve`
        calls), looking at the others: 0 and the reservations, or the wait and the spent budget (nothing kept)."""
        reservations: list[Reservation] = []
        for budget in self._budgets:
            if isinstance(budget.budget, DivisionBudget) and budget.reserve > 1:
                wait, reservation = await budget.budget.reserve(budget.clock(), budget.reserve)
            else:
                wait, reservation = await budget.budget.wait(budget.clock(), budget.reserve), None
            if wait > 0:
                await self.refund(reservations, {})
                return wait, budget, []
            if reservation is not None:
                reservations.append(reservation)
        return 0.0, None, reservations

    async def start_in(self) -> float:
        """Seconds (on the connectors' clock) until one more polled run of the link should start: the runs its
        division's minute can serve now start at once, the rest one run's share of the minute apart."""
        exact = next((b for b in self._budgets if isinstance(b.budget, DivisionBudget)), None)
        if exact is None or not isinstance(exact.budget, DivisionBudget):
            return 0.0
        system = exact.system

        def pace(division: int) -> str:
            return self._keys.ratelimit_pace(system, str(division))

        return await exact.budget.schedule(pace, exact.clock(), EXACT_CALLS_PER_RUN)

    async def refund(self, reservations: list[Reservation], unused: dict[str, int]) -> None:
        """Give back what the run did not use of its reservations (`unused`: calls left per budget key)."""
        for reservation in reservations:
            budget = next((b.budget for b in self._budgets if isinstance(b.budget, DivisionBudget)), None)
            if budget is not None:
                await budget.refund(reservation, unused.get(reservation.key, reservation.calls))

    async def turn(self, budget: Budget | None, wait: float) -> float:
        """Seconds to defer a run that must wait `wait` for `budget`: its paced turn after the reset."""
        if budget is None:
            return max(wait, 1.0)
        window = math.ceil(budget.clock() + wait)  # the reset this run waits for, in whole seconds
        slots = self._keys.ratelimit_slots(budget.system, budget.scope, window)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(slots)
            pipe.expire(slots, int(wait) + 3600)
            position, _ = await pipe.execute()
        return max(wait, 1.0) + (int(position) - 1) * await budget.spacing()


def exact_budget(division: str, budget: DivisionBudget, clock: Callable[[], float]) -> Budget:
    """A division's budget: a run's share of a minute, at the minutely limit Exact reports (60 by default)."""

    async def spacing() -> float:
        limit = await budget.minute_limit() or EXACT_MINUTE_LIMIT
        return 60.0 * EXACT_CALLS_PER_RUN / max(limit, 1)

    # A new company customer's order costs three calls (account, contact person, order): a run reserves them before
    # it starts (`RunBudgets.admit`), rather than stop half-way (its next try would look up what it may have written).
    return Budget("exact", division, budget, clock, spacing, reserve=EXACT_RESERVE)


def eaccounting_budget(client_id: str, budget: RateBudget, clock: Callable[[], float]) -> Budget:
    """The client's budget: a run's share of a 10-second window of 85 calls (connectors/eaccounting/factory.py)."""

    async def spacing() -> float:
        return BUDGET_WINDOW_SECONDS * EACCOUNTING_CALLS_PER_RUN / BUDGET_CALLS

    return Budget("eaccounting", client_id, budget, clock, spacing)
