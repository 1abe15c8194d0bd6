import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Each test writes recordings and extracts into its own folder."""
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
