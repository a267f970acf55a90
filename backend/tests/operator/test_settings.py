"""The operator's settings: every number read through one parser, so that a wrong value
stops the start with the setting's name rather than a traceback from ``int()``."""

from __future__ import annotations

import pytest

from facteur_operator.dns_verify import VerifySettings
from facteur_operator.mta_settings import MtaSettings, SettingError
from facteur_operator.settings import Settings


def test_defaults_and_given_values() -> None:
    assert (Settings.from_env({}).workers, Settings.from_env({}).resync_seconds) == (256, 300.0)
    given = Settings.from_env(
        {
            "FACTEUR_OPERATOR_WORKERS": "32",
            "FACTEUR_OPERATOR_BACKEND_CONCURRENCY": "4",
            "FACTEUR_OPERATOR_RESYNC_SECONDS": "12.5",
            "FACTEUR_OPERATOR_METRICS_PORT": "9100",
        }
    )
    assert (given.workers, given.backend_concurrency) == (32, 4)
    assert (given.resync_seconds, given.metrics_port) == (12.5, 9100)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("FACTEUR_OPERATOR_WORKERS", "many"),
        ("FACTEUR_OPERATOR_WORKERS", "0"),
        ("FACTEUR_OPERATOR_BACKEND_CONCURRENCY", "-1"),
        ("FACTEUR_OPERATOR_DNS_TTL", "0"),
        ("FACTEUR_OPERATOR_METRICS_PORT", "9100/tcp"),
        ("FACTEUR_OPERATOR_RESYNC_SECONDS", "5m"),
        ("FACTEUR_OPERATOR_RESYNC_SECONDS", "0"),
        ("FACTEUR_OPERATOR_RESYNC_SECONDS", "nan"),
        ("FACTEUR_OPERATOR_MTA_DEBOUNCE_SECONDS", "-1"),
        ("FACTEUR_OPERATOR_DNS_VERIFY_TIMEOUT", "inf"),
    ],
)
def test_a_wrong_number_names_its_setting(key: str, value: str) -> None:
    with pytest.raises(SettingError, match=key):
        Settings.from_env({key: value})


def test_the_parts_read_through_the_same_parser() -> None:
    with pytest.raises(SettingError, match="FACTEUR_OPERATOR_MTA_IN_REPLICAS"):
        MtaSettings.from_env({"FACTEUR_OPERATOR_MTA_IN_REPLICAS": "two"})
    assert VerifySettings.from_env({"FACTEUR_OPERATOR_DNS_VERIFY_SECONDS": "30"}).interval == 30
