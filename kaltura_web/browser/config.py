"""The page's configuration: the PyScript config key "kaltura", the JSON tag
``#kaltura-web-config``, ``<body data-kaltura-*>`` and what ``start()`` is
given, merged; and the KS provider it describes (docs/browser.md,
"Configuration")."""

import json

from . import _env
from ._convert import attribute as _attr, is_nullish

CONFIG_ELEMENT_ID = "kaltura-web-config"
# configuration keys (JSON / PyScript names) -> meaning
CONFIG_KEYS = ("partnerId", "ks", "ksProvider", "ksUrl", "serviceUrl", "analyticsUrl",
               "kalturaApplication", "kalturaApplicationVer", "uiconfId", "widgetId", "clientVer",
               "userId", "virtualEventId", "referrer", "pageType", "pageName", "pageValue",
               "pageInfo", "entryId", "pageLoad", "instrument", "storage", "maxQueue",
               "storageBudget", "tabs", "protocol", "quartiles", "deliveryType", "timeupdateGate",
               "consent", "respectGPC", "anonymous", "observe")
# <body data-kaltura-*> attribute -> configuration key
BODY_ATTRIBUTES = (("data-kaltura-page-type", "pageType"), ("data-kaltura-page-name", "pageName"),
                   ("data-kaltura-page-value", "pageValue"), ("data-kaltura-page-info", "pageInfo"),
                   ("data-kaltura-application", "kalturaApplication"),
                   ("data-kaltura-partner-id", "partnerId"), ("data-kaltura-entry-id", "entryId"))


def read_config(explicit=None):
    """Merged configuration: PyScript config key "kaltura" < the JSON script tag
    ``#kaltura-web-config`` < ``<body data-kaltura-*>`` < ``explicit``."""
    config = {}
    config.update(_env.pyscript_config("kaltura"))
    doc = _env.document()
    tag = doc.getElementById(CONFIG_ELEMENT_ID)
    if not is_nullish(tag):
        text = str(tag.textContent or "").strip()
        if text:
            config.update(json.loads(text))
    body = doc.body
    for attr, key in BODY_ATTRIBUTES:
        value = _attr(body, attr)
        if value:
            config[key] = value
    if explicit:
        config.update(explicit)
    for key in ("serviceUrl", "analyticsUrl", "ksUrl"):
        value = config.get(key)
        if isinstance(value, str) and not value.startswith(("http://", "https://")):
            config[key] = _env.absolute_url(value)  # relative to the page
    if isinstance(config.get("analyticsUrl"), str):
        config["analyticsUrl"] = config["analyticsUrl"].rstrip("/")
    unknown = [k for k in config if k not in CONFIG_KEYS]
    if unknown:
        _env.log("warn", "kaltura_web: unknown configuration keys " + ", ".join(unknown))
    return config


def ks_provider(config):
    """A zero-argument callable returning a KS (or a promise/awaitable of one)."""
    provider = config.get("ksProvider")
    if isinstance(provider, str):
        fn = getattr(_env.window(), provider, None)
        if is_nullish(fn):
            raise ValueError("ksProvider %r is not a function on window" % provider)
        return lambda: fn()
    if provider is not None:
        if not callable(provider):
            raise TypeError("ksProvider must be callable")
        return provider
    url = config.get("ksUrl")
    if url and config.get("anonymous") is True:  # a KS without a user
        base, mark, fragment = url.partition("#")
        url = base + ("&" if "?" in base else "?") + "anonymous=1" + mark + fragment
    if url:
        async def fetch_ks():
            resp = await _env.fetch(url, {"cache": "no-store", "credentials": "same-origin"})
            if not resp.ok:
                raise RuntimeError("KS URL answered HTTP %s" % resp.status)
            data = json.loads(str(await resp.text()))
            return data["ks"] if isinstance(data, dict) else data
        return fetch_ks
    return None
