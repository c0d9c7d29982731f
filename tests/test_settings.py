"""Every setting is documented in the README's table, and bad values fail with the variable's name."""

from pathlib import Path

import pytest

from narration.settings import SETTINGS, SettingError, load_settings, markdown_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_has_the_settings_table_of_the_code():
    # Regenerate with: .venv/bin/python -m narration.settings
    assert markdown_table() in README.read_text()


def test_every_setting_has_help_and_a_parsable_default():
    settings = load_settings({})
    for setting in SETTINGS:
        assert setting.help and setting.env
        assert setting.name in settings.values


def test_derived_defaults_live_in_the_data_folder():
    settings = load_settings({"NARRATOR_DATA_DIR": "/srv/narrator"})
    assert settings.cache_size == 1 << 30
    assert settings.sentence_cache_dir == Path("/srv/narrator/sentence-cache")
    assert settings.database == "sqlite:////srv/narrator/narrator.db"
    assert settings.media == "file:///srv/narrator/media"


@pytest.mark.parametrize("env, value", [
    ("NARRATOR_CACHE_SIZE", "lots"),
    ("NARRATOR_ENGINE_THREADS", "two"),
    ("NARRATOR_MAX_TEXT_BYTES", "1Q"),
])
def test_bad_value_names_the_variable(env, value):
    with pytest.raises(SettingError, match=env):
        load_settings({env: value})


@pytest.mark.parametrize("value, parsed", [("48k", "48k"), ("24K", "24k"), ("off", None),
                                           ("0", None)])
def test_the_opus_copy_has_a_bitrate_or_is_off(value, parsed):
    assert load_settings({"NARRATOR_OPUS_BITRATE": value}).opus_bitrate == parsed


@pytest.mark.parametrize("value", ["48", "48kbps", "3k", "512k"])
def test_an_unusable_opus_bitrate_names_the_variable(value):
    with pytest.raises(SettingError, match="NARRATOR_OPUS_BITRATE"):
        load_settings({"NARRATOR_OPUS_BITRATE": value})
