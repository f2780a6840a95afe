"""The language settings are checked at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from giveaway import create_app
from giveaway.settings import SettingsError


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"LANGUAGES": []}, "LANGUAGES must be a non-empty list"),
        ({"LANGUAGES": "en"}, "LANGUAGES must be a non-empty list"),
        ({"LANGUAGES": ["en", "xx-nonsense"]}, "which is not a locale"),
        ({"LANGUAGES": ["de"]}, "BABEL_DEFAULT_LOCALE 'en' must be one of LANGUAGES"),
    ],
)
def test_bad_language_settings_refuse_to_start(
    tmp_path: Path, settings: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path}/x.db", **settings})
