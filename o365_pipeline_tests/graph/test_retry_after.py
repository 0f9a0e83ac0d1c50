import email.utils
import time

from o365_pipeline.graph.client import retry_after_seconds


def test_fractional_seconds() -> None:
    assert retry_after_seconds("2.128") == 2.128
    assert retry_after_seconds("0.249") == 0.249


def test_http_date_in_the_future() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= retry_after_seconds(when) <= 31


def test_missing_or_garbage_means_backoff() -> None:
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
