"""What the two collection endpoints (stats.collect, analytics.trackEvent) share:
reading the KS of a request and storing one event.

``store_event`` is the only place an event is written: every arrival is
stored, a repeated beacon too (marked by the store as a duplicate of its first
arrival), because Kaltura de-duplicates nothing.  It also decides whom the
event counts for (``attribution``): Kaltura reads the user from the event's
own ``userId`` (the KS is only validated) and segments by the application
fields, so the KS user and its ``appId`` privilege only fill in what the event
does not say.
"""

from __future__ import annotations

import logging

from . import ks as ksmod
from .answers import ApiError, invalid_ks
from .filters import APP_FIELDS, named_text
from .params import present

log = logging.getLogger("kaltura_web.collector")


def check_ks(state, params):
    """KSInfo for a present ``ks`` param, None when absent; raises INVALID_KS."""
    ks_string = params.get("ks")
    if not present(ks_string):
        return None
    try:
        return ksmod.parse_ks(str(ks_string), state.config.secrets_by_partner)
    except ksmod.KSError as err:
        raise invalid_ks(ks_string, err) from None


def require_ks(state, params):
    """KSInfo of a mandatory ``ks`` param: MISSING_KS when absent, INVALID_KS when bad."""
    if not present(params.get("ks")):
        raise ApiError("MISSING_KS", "Missing KS, session not established")
    return check_ks(state, params)


def attribution(fields, info):
    """(user, application) an event counts for: its ``userId``, else the KS
    user; its ``kalturaApplication``/``applicationId``, else the KS ``appId``
    privilege.  None for what neither says (and no KS)."""
    user = named_text(fields, ("userId",))
    app = named_text(fields, APP_FIELDS)
    if info is not None:
        user = info.user_id if user is None else user
        app = info.app_id if app is None else app
    return user, app


def store_event(state, service, fields, info, ks_string, **columns) -> int:
    """Store one arrival of ``service`` ('stats' | 'analytics') sent under the KS
    ``info`` (None: no KS), with its ``attribution``; ``columns`` are the
    store's indexed values (partner_id, entry_id, event_type, session_id,
    event_timestamp, beacon_id).  Returns its seq."""
    user_id, app_id = attribution(fields, info)
    seq, first = state.store.insert(
        service=service, fields=fields, user_id=user_id, app_id=app_id,
        ks_type=info.ks_type if info else None,
        ks_masked=ksmod.mask_ks(ks_string) if info else None, **columns)
    log.info("%s event seq=%s type=%s%s", service, seq, columns.get("event_type"),
             "" if first is None else f" (a repeat of seq {first})")
    return seq
