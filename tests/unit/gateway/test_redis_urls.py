"""REDIS_URL's three forms (gateway/store/redis_urls.py), and the URLs refused at start."""

from __future__ import annotations

import pytest

from gateway.settings import ConfigError, load_settings
from gateway.store.redis_urls import parse


def test_sentinel_url_names_its_sentinels_service_and_db():
    t = parse("redis+sentinel://:pw%40x@10.0.0.1:26379,10.0.0.2/cache?db=3"
              "&sentinel_password=s")
    assert (t.kind, t.hosts, t.service, t.db) == (
        "sentinel", [("10.0.0.1", 26379), ("10.0.0.2", 26379)], "cache", 3)
    assert (t.username, t.password, t.sentinel_password, t.ssl) == (None, "pw@x", "s", False)


def test_cluster_url_lists_its_startup_nodes():
    t = parse("rediss+cluster://app:secret@[::1]:7000,h2:7001")
    assert (t.kind, t.hosts, t.username, t.password, t.ssl) == (
        "cluster", [("::1", 7000), ("h2", 7001)], "app", "secret", True)
    assert parse("redis://127.0.0.1:6379/2").kind == "plain"


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:6379", "redis+sentinel://h:26379", "redis+sentinel://h:26379/a/b",
    "redis+sentinel://h:x/cache", "redis+cluster://h:7000/1", "redis+cluster://h:7000?db=2",
    "redis+cluster://h:7000,,h2:7001", "redis+sentinel://h:26379/c?colour=red",
])
def test_malformed_urls_are_refused_at_start(url):
    with pytest.raises(ValueError):
        parse(url)
    with pytest.raises(ConfigError, match="REDIS_URL"):
        load_settings({"REDIS_URL": url}, environ={})
