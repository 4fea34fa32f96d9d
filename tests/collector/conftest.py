"""Collector test fixtures: the plugin's fixtures plus endpoint URLs."""

import pytest

from kaltura_web.pytest_plugin import kaltura_collector, kaltura_collector_server  # noqa: F401


@pytest.fixture
def collect_url(kaltura_collector):
    return kaltura_collector.service_url + "/service/stats/action/collect"


@pytest.fixture
def track_url(kaltura_collector):
    return kaltura_collector.analytics_url + "/api_v3/index.php?service=analytics&action=trackEvent"
