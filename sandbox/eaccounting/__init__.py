"""A strict simulator of the Visma eAccounting API v2 and its Visma Connect identity server.

`create_eaccounting_app()` returns one FastAPI app serving `/v2/*`, `/connect/authorize`,
`/connect/token` and the control plane `/_sim/*`; `app.state.sim` is the `EAccountingSim` behind it.
Run it alone with `python -m sandbox.eaccounting --port 8102`. Facts and sources: docs/eaccounting-api.md.
"""

from .app import create_eaccounting_app
from .config import EAccountingSimConfig
from .seed import seed_demo
from .sim import EAccountingSim, ListQuery
from .state import Fault

__all__ = ["EAccountingSim", "EAccountingSimConfig", "Fault", "ListQuery", "create_eaccounting_app", "seed_demo"]
