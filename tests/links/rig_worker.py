"""One worker process of the multi-process rig (tests/links/rig.py): `ledgerbridge worker` as it runs in production,
configured from the environment, with its connectors on the rig's clock.

The rig may run the simulated APIs' time faster than real time (`RIG_SCALE` simulated seconds per real second,
counted from `RIG_T0` real = `RIG_START` simulated): the connectors read that clock, their waits last
`seconds / RIG_SCALE`, and the engine's budget deferrals are converted back to real seconds (`Timing.time_scale`).
"""

from __future__ import annotations

import asyncio
import os
import time

from app.scope import Timing
from app.settings import load_settings
from app.worker import build_worker


def rig_timing() -> Timing:
    scale = float(os.environ.get("RIG_SCALE", "1"))
    t0 = float(os.environ.get("RIG_T0", str(time.time())))
    start = float(os.environ.get("RIG_START", str(t0)))

    def clock() -> float:
        return start + (time.time() - t0) * scale

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / scale)

    return Timing(
        exact_clock=clock, exact_sleep=sleep, eaccounting_clock=clock, eaccounting_sleep=sleep, time_scale=scale
    )


def main() -> None:
    settings = load_settings()
    build_worker(settings, timing=rig_timing()).run()


if __name__ == "__main__":
    main()
