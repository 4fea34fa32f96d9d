"""The collector's settings (``CollectorConfig``) and the state one app holds
(``CollectorState``: the store, the fault plan, the web root, shutdown)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, fields as dc_fields
from pathlib import Path

from . import ks as ksmod
from .faults import FaultPlan
from .store import Store

DEFAULT_PARTNER_ID = 100
DEFAULT_ADMIN_SECRET = "local-dev-admin-secret-not-for-production"
DEFAULT_DB = "kaltura-web.db"
DEFAULT_BODY_LIMIT = 1024 * 1024   # bytes; larger bodies are answered 413


def default_web_root():
    """The repository's web/ folder next to the package, or None outside a checkout."""
    import kaltura_web

    root = Path(kaltura_web.__file__).resolve().parents[1] / "web"
    return root if root.is_dir() else None


@dataclass
class CollectorConfig:
    db: str = DEFAULT_DB
    partner_id: int = DEFAULT_PARTNER_ID
    admin_secret: str = DEFAULT_ADMIN_SECRET
    web_root: object = "auto"  # "auto": the repo's web/ if present; None: no static files
    dev_ks: bool = True
    faults: list = field(default_factory=list)  # initial fault specs (dicts)
    body_limit: int = DEFAULT_BODY_LIMIT       # bytes of request body; more is answered 413
    dev_routes: bool = True                    # /dev/* and the dashboard
    allow_remote_dev: bool = False             # dev routes answer a non-loopback Host

    def __post_init__(self):
        if isinstance(self.body_limit, bool) or not isinstance(self.body_limit, int):
            raise TypeError(f"body_limit must be an int (bytes), got {self.body_limit!r}")
        if self.body_limit < 1:
            raise ValueError(f"body_limit must be a positive number of bytes, got {self.body_limit!r}")

    @classmethod
    def coerce(cls, config) -> "CollectorConfig":
        if isinstance(config, cls):
            return config
        config = dict(config or {})
        names = {f.name for f in dc_fields(cls)}
        return cls(**{k: v for k, v in config.items() if k in names})

    @property
    def secrets_by_partner(self) -> dict:
        return {int(self.partner_id): self.admin_secret}


class CollectorState:
    """What the routes of one app share.  Opening the store may raise
    ``store.StoreError`` (a database file that cannot be opened)."""

    def __init__(self, config: CollectorConfig):
        self.config = config
        self.store = Store(config.db)
        self.faults = FaultPlan()
        for spec in config.faults or ():
            self.faults.add(spec)
        web_root = default_web_root() if config.web_root == "auto" else config.web_root
        self.web_root = Path(web_root).resolve() if web_root else None
        self.closing = threading.Event()  # set at shutdown: open event streams end

    def begin_shutdown(self) -> None:
        """End every open /dev/stream response so no request outlives the server."""
        self.closing.set()
        self.store.wake_all()

    def issue_ks(self, user_id="", ks_type=0, expiry=86400, privileges=None) -> str:
        return ksmod.make_ks_v2(self.config.partner_id, self.config.admin_secret, user_id,
                                ks_type, int(time.time()) + int(expiry), privileges)

    def reset(self) -> None:
        self.store.reset()
        self.faults.clear(reset_counters=True)
