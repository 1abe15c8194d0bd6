"""The demo app exists only in demo mode: with RELAIS_DEMO off it is not installed, its
commands do not exist and its URLs answer 404; no other app needs it."""


import pytest
from django.apps import apps

from tests.helpers import relais_isolated

DEMO_URLS = ("/demo/telephone/", "/demo/boite-d-envoi/",
             "/telephony/local/recordings/RE" + "a" * 32)
DEMO_COMMANDS = ("seed_demo", "simulate_call", "generate_sirene")


def _run(tmp_path, demo: str, *args):
    return relais_isolated({
        "RELAIS_DEMO": demo, "DEBUG": "false", "RELAIS_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "relais-test-suite-only", "SECURE_SSL_REDIRECT": "false",
        # Outside demo mode the provider's real credentials are required (E001).
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "a-real-provider-token",
    }, *args, timeout=120)


def _printed(result) -> list[str]:
    return [line[2:] for line in result.stdout.splitlines() if line.startswith("> ")]


SCRIPT = f"""
from django.apps import apps
from django.test import Client
from relais.core.context_processors import relais
from relais.privacy import provider
print(">", apps.is_installed("relais.demo"))
client = Client(HTTP_HOST="127.0.0.1")
print(">", *[client.get(url).status_code for url in {DEMO_URLS!r}])
print(">", relais(None)["RELAIS_DEMO"])
provider.delete("local-recording:RE" + "a" * 32)  # nothing to delete it with: no error
"""


def test_demo_mode_off_no_demo_app_no_demo_urls_no_demo_commands(tmp_path):
    check = _run(tmp_path, "0", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    shell = _run(tmp_path, "0", "shell", "-c", SCRIPT)
    assert shell.returncode == 0, shell.stderr
    assert _printed(shell) == ["False", "404 404 404", "False"]
    commands = _run(tmp_path, "0", "help", "--commands")
    assert commands.returncode == 0, commands.stderr
    assert not set(DEMO_COMMANDS) & set(commands.stdout.split())


def test_demo_mode_on_the_demo_app_and_its_commands(tmp_path):
    script = SCRIPT.replace("client.get(url).status_code", "resolve(url).view_name").replace(
        "from django.test import Client", "from django.test import Client\n"
                                          "from django.urls import resolve")
    shell = _run(tmp_path, "1", "shell", "-c", script)
    assert shell.returncode == 0, shell.stderr
    assert _printed(shell) == ["True", "demo:phone demo:outbox demo:local_recording", "True"]
    commands = _run(tmp_path, "1", "help", "--commands")
    assert set(DEMO_COMMANDS) <= set(commands.stdout.split())


@pytest.mark.django_db
def test_the_suite_runs_a_demo_site_with_its_links(client):
    assert apps.is_installed("relais.demo")
    html = client.get("/demo/boite-d-envoi/").content.decode()
    assert 'href="/demo/telephone/"' in html and 'href="/demo/boite-d-envoi/"' in html
