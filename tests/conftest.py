import pytest

from tests.services import empty_redis_db


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Each test writes recordings and extracts into its own folder (on local storage;
    RELAIS_STORAGE=s3 keeps the session's S3 bucket, shared with worker processes)."""
    if settings.STORAGES["default"]["BACKEND"] != "django.core.files.storage.FileSystemStorage":
        return
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media"), "base_url": None},
        },
    }


@pytest.fixture(scope="session", autouse=True)
def _live_server_serves_no_media():
    """Django's live server wraps the site in a media-files handler built from MEDIA_URL;
    Relais has none (MEDIA_URL = None: recordings are never public), which makes that
    handler fail on every request. Give it a prefix no URL uses, so it serves nothing."""
    from django.test import testcases

    original = testcases._MediaFilesHandler.get_base_url
    testcases._MediaFilesHandler.get_base_url = lambda self: "/__no-public-media__/"
    yield
    testcases._MediaFilesHandler.get_base_url = original


@pytest.fixture(autouse=True)
def _empty_task_queues(settings):
    """RQ's queues live in Redis, not in the test database: each test starts with none
    (the session's own Redis database, see tests/services.py)."""
    if settings.TASKS["default"]["BACKEND"].startswith("django_tasks_rq."):
        empty_redis_db()
