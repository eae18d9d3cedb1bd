"""Tests of :mod:`advisor.urls`: the one rule that keeps credentials out of what we show,
write and record (before it, three redactors disagreed: one kept the user name, one left a
``password=`` query parameter, one matched only the first URL of a text)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advisor.urls import redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:secret@host.test/simple/", "https://host.test/simple/"),
        ("https://token@host.test:8443/a?b=c#d", "https://host.test:8443/a?b=c#d"),
        ("https://us%40er:p%3Ass@host.test/x", "https://host.test/x"),
        ("https://host.test/simple/", "https://host.test/simple/"),
        ("file:///tmp/wheels/", "file:///tmp/wheels/"),
        ("not a url", "not a url"),
        # a store DSN: the user goes too, and libpq's password parameter
        ("postgresql://u:p@h:5/d?sslmode=require&password=p", "postgresql://h:5/d?sslmode=require"),
        ("postgresql://:p@h/d", "postgresql://h/d"),
        ("postgresql://h/d?PASSWORD=x", "postgresql://h/d"),
        ("sqlite:////abs/path.db", "sqlite:////abs/path.db"),  # unchanged, byte for byte
        ("/a/b.db", "/a/b.db"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_text_marks_every_url() -> None:
    text = "index https://a:1@one.test/simple and https://tok@two.test/x failed"
    assert (
        redact_text(text) == "index https://***@one.test/simple and https://***@two.test/x failed"
    )


# a quote ends a URL quoted in a message, so it stays out of the generated credentials
_secret = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~%!$&()*+,;=", min_size=4)


@given(user=_secret, password=_secret)
def test_no_credential_survives(user: str, password: str) -> None:
    url = f"https://{user}:{password}@host.test/simple/?password={password}"
    for shown in (redact_url(url), redact_text(f"see {url} now")):
        assert f"{user}:{password}@" not in shown
        assert f"password={password}" not in shown
