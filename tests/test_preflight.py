"""Every process refuses a wrong setting as it starts, in one sentence: the web app factory (as
gunicorn runs it from the Procfile) and a Celery worker, as `narrator up` does (tests/test_up.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cli.embedded import free_port
from narration.settings import SettingError
from tests.conftest_service import REPO

CLOSED = f"redis://127.0.0.1:{free_port()}/0"
"""A Redis URL nobody answers at."""


def test_the_app_factory_refuses_a_broker_that_does_not_answer(tmp_path):
    from service import create_app

    with pytest.raises(SettingError, match=r"^REDIS_URL .* does not answer"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
                    "MEDIA_URL": (tmp_path / "media").as_uri(), "REDIS_URL": CLOSED})


def test_the_app_factory_refuses_a_base_url_that_is_not_absolute(tmp_path):
    from service import create_app

    with pytest.raises(SettingError, match="NARRATOR_BASE_URL"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
                    "MEDIA_URL": (tmp_path / "media").as_uri(), "BASE_URL": "narrator.example",
                    "ENQUEUE": lambda job_id: None})


@pytest.mark.parametrize("setting, value, says", [
    ("REDIS_URL", CLOSED, "does not answer"),
    ("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none", "DATABASE_URL cannot be used"),
    ("NARRATOR_BASE_URL", "ftp://narrator.example", "not an absolute http(s) URL"),
])
def test_a_worker_refuses_a_wrong_setting_in_one_line(tmp_path, redis_url, setting, value, says):
    env = {**os.environ, "REDIS_URL": redis_url, "NARRATOR_DATA_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", setting: value}
    env.pop("MEDIA_URL", None)
    run = subprocess.run([sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
                          "--pool=solo", "--loglevel=WARNING"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    lines = [line for line in run.stderr.splitlines() if line.startswith("narrator worker:")]
    assert len(lines) == 1 and says in lines[0], run.stderr[-2000:]
    assert "Traceback" not in run.stderr
