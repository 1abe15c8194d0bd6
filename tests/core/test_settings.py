import os
import subprocess
import sys

import pytest

from tests.helpers import relais_isolated


def _run(env_overrides, *args, module="relais.cli"):
    # A clean environment: only what the process needs plus the variables under test.
    return relais_isolated(env_overrides, *args, module=module, timeout=120)


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "-production-grade-secret-key-with-entropy-" + "y" * 20,
    "ALLOWED_HOSTS": "relais.example.org",
    "RELAIS_PUBLIC_URL": "https://relais.example.org",
    "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
    "TWILIO_AUTH_TOKEN": "the-token-from-the-provider-console",
    "RELAIS_SMS_BACKEND": "twilio",
    "RELAIS_SMS_FROM": "+33700000000",
}


def test_production_settings_pass_check_deploy(tmp_path):
    result = _run({**PRODUCTION, "RELAIS_DATA_DIR": str(tmp_path)},
                  "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_secure_transport_cookies_and_csp(tmp_path):
    """HSTS, secure cookies, HTTPS redirect and the Content-Security-Policy, as served."""
    script = (
        "from django.conf import settings as s; from django.test import Client; "
        "print(s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_SSL_REDIRECT,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY); "
        "r = Client(HTTP_HOST='relais.example.org').get('/appelant/', secure=True); "
        "print(r.status_code); print(r['Strict-Transport-Security']); "
        "print(r['Content-Security-Policy']); print(r['X-Frame-Options']); "
        "print(r.cookies['csrftoken']['secure']); "
        "print(Client(HTTP_HOST='relais.example.org').get('/appelant/').status_code)"
    )
    result = _run({**PRODUCTION, "RELAIS_DATA_DIR": str(tmp_path)}, "shell", "-c", script)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()[-7:]
    assert lines[0] == "31536000 True True True True True"
    assert lines[1] == "200"
    assert lines[2] == "max-age=31536000; includeSubDomains; preload"
    csp = lines[3]
    for directive in ("default-src 'self'", "script-src 'self'", "frame-ancestors 'none'",
                      "object-src 'none'", "form-action 'self'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert lines[4] == "DENY" and lines[5] == "True"
    assert lines[6] == "301"  # plain http is redirected to https


def test_check_deploy_warns_when_callers_cannot_receive_their_code(tmp_path):
    env = {**PRODUCTION, "RELAIS_DATA_DIR": str(tmp_path), "RELAIS_SMS_BACKEND": "outbox"}
    result = _run(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "relais.privacy.W001" in result.stderr


# A production that forgot the provider's credentials: DEBUG off, no RELAIS_DEMO, no
# TWILIO_*; everything else as it should be.
MISCONFIGURED = {k: v for k, v in PRODUCTION.items() if not k.startswith("TWILIO_")}


def test_check_deploy_fails_on_a_production_without_provider_credentials(tmp_path):
    env = {**MISCONFIGURED, "RELAIS_DATA_DIR": str(tmp_path)}
    for module in ("relais.cli", "django"):
        extra = {"DJANGO_SETTINGS_MODULE": "relais.settings"} if module == "django" else {}
        result = _run({**env, **extra}, "check", "--deploy", module=module)
        assert result.returncode != 0, result.stderr
        assert "relais.calls.E001" in result.stderr and "ERRORS" in result.stderr


@pytest.mark.parametrize("credentials", [
    {},  # missing
    {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "relais-local-phone-token"},
    {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "relais-local-phone-token"},
    {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "a-real-looking-token"},
    {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": ""},
], ids=["missing", "source-defaults", "default-token", "default-sid", "empty-token"])
def test_outside_demo_mode_every_command_refuses_the_public_credentials(tmp_path, credentials):
    """An error, not a --deploy warning: migrate, the workers, check… all stop."""
    result = _run({**MISCONFIGURED, **credentials, "RELAIS_DATA_DIR": str(tmp_path)}, "check")
    assert result.returncode != 0
    assert "relais.calls.E001" in result.stderr


def test_a_configured_production_passes_check_deploy(tmp_path):
    env = {
        **PRODUCTION, "RELAIS_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://relais:secret@db.internal:5432/relais",
        "EMAIL_URL": "smtp+tls://relais:secret@smtp.example.org:587",
        "DEFAULT_FROM_EMAIL": "Relais <ne-pas-repondre@relais.example.org>",
    }
    for module in ("relais.cli", "django"):
        extra = {"DJANGO_SETTINGS_MODULE": "relais.settings"} if module == "django" else {}
        result = _run({**env, **extra}, "check", "--deploy", "--fail-level", "WARNING",
                      module=module)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "no issues" in result.stdout


def test_demo_mode_is_explicit_and_not_implied_by_debug(tmp_path):
    script = ("from django.conf import settings as s; "
              "print(s.RELAIS_DEMO, s.TWILIO_ACCOUNT_SID, s.TWILIO_AUTH_TOKEN)")
    off = _run({"DEBUG": "true", "RELAIS_DATA_DIR": str(tmp_path)}, "shell", "-c", script)
    assert off.returncode == 0, off.stderr
    assert off.stdout.splitlines()[-1].split()[0] == "False"
    on = _run({"RELAIS_DEMO": "1", "RELAIS_DATA_DIR": str(tmp_path)}, "shell", "-c", script)
    # The settings' defaults are the placeholders relais.calls.providers.local knows as public.
    from relais.calls.providers.local import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN

    assert on.stdout.splitlines()[-1].split() == ["True", LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN]
    # The demo runs with them (python3 dev.py start); check --deploy says it is a demo.
    assert _run({"RELAIS_DEMO": "1", "RELAIS_DATA_DIR": str(tmp_path)}, "check").returncode == 0
    deploy = _run({**PRODUCTION, "RELAIS_DEMO": "1", "RELAIS_DATA_DIR": str(tmp_path)},
                  "check", "--deploy")
    assert deploy.returncode == 0 and "relais.calls.W003" in deploy.stderr


def test_outside_demo_mode_the_local_provider_and_demo_pages_are_not_routed(tmp_path):
    """Real settings, real URLconf, in a process of their own: the local provider's
    recording host (download and upload), the local phone and the outbox do not exist."""
    script = (
        "import base64\n"
        "from django.conf import settings as s\n"
        "from django.test import Client\n"
        "from django.urls import Resolver404, resolve\n"
        "from relais.calls.providers import local\n"
        "print('demo', s.RELAIS_DEMO, local.PROVIDER.enabled())\n"
        "c = Client(HTTP_HOST='relais.example.org')\n"
        "auth = {'Authorization': 'Basic ' + base64.b64encode("
        "f'{s.TWILIO_ACCOUNT_SID}:{s.TWILIO_AUTH_TOKEN}'.encode()).decode()}\n"
        "sid = 'RE' + 'a' * 32\n"
        "for path in ['/demo/telephone/', '/demo/boite-d-envoi/',\n"
        "             f'/telephony/local/recordings/{sid}',\n"
        "             f'/telephony/local/recordings/{sid}.wav']:\n"
        "    try:\n"
        "        resolve(path)\n"
        "        routed = 'routed'\n"
        "    except Resolver404:\n"
        "        routed = 'unrouted'\n"
        "    get = c.get(path, secure=True, headers=auth).status_code\n"
        "    put = c.put(path, b'RIFF', content_type='audio/wav', secure=True,\n"
        "                headers=auth).status_code\n"
        "    print(path, routed, get, put)\n"
    )
    # A configured production, and one left with the source's credentials (whose Basic
    # auth anybody can compute: it used to upload 50 MB files and download recordings).
    for env in (PRODUCTION, MISCONFIGURED):
        result = _run({**env, "RELAIS_DATA_DIR": str(tmp_path)}, "shell", "-c", script)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.strip().splitlines()[-5:]  # after the shell's own banner
        assert lines[0] == "demo False False"
        for line in lines[1:]:
            assert line.split()[1:] == ["unrouted", "404", "404"], line
        stored = tmp_path / "local-provider" / "recordings"
        assert not stored.exists() or not any(stored.iterdir())


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {
        "DEBUG": "false", "RELAIS_DATA_DIR": str(tmp_path), "SECRET_KEY": "",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/relais",
    }
    result = _run(env, "check")
    assert result.returncode != 0
    assert "configuration error: SECRET_KEY must be set" in result.stderr


def test_embedded_default_keeps_a_private_key_file(tmp_path):
    result = _run({"RELAIS_DATA_DIR": str(tmp_path), "RELAIS_DEMO": "1"}, "check")
    assert result.returncode == 0, result.stderr
    key = tmp_path / "secret_key"
    assert len(key.read_text()) >= 50
    assert key.stat().st_mode & 0o077 == 0


def test_data_dir_and_database_url_come_from_the_environment(tmp_path):
    result = _run(
        {"DEBUG": "true", "RELAIS_DATA_DIR": str(tmp_path), "DATABASE_URL": ""},
        "shell", "-c",
        "from django.conf import settings; print(settings.DATABASES['default']['NAME'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "relais.sqlite3")


# --- One configuration for the checkout (var/relais.env, written by `dev.py start`) ------

SHOW = ("from django.conf import settings as s; "
        "print(s.DEBUG, s.DATA_DIR, 'relais.demo' in s.INSTALLED_APPS, s.RELAIS_PUBLIC_URL)")


def test_the_settings_file_dev_py_start_writes_is_read_and_the_environment_wins(tmp_path):
    data = tmp_path / "data"
    env_file = tmp_path / "relais.env"
    env_file.write_text(f"RELAIS_DATA_DIR={data}\nDEBUG=1\nRELAIS_DEMO=1\n"
                        "RELAIS_PUBLIC_URL=http://127.0.0.1:8123\nPORT=8123\n")
    result = _run({"RELAIS_ENV_FILE": str(env_file)}, "shell", "-c", SHOW)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["True", str(data), "True", "http://127.0.0.1:8123"]
    # A variable set in the environment beats the file.
    result = _run({"RELAIS_ENV_FILE": str(env_file), "DEBUG": "false",
                   "RELAIS_PUBLIC_URL": "https://relais.example.org"}, "shell", "-c", SHOW)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["False", str(data), "True", "https://relais.example.org"]


def test_a_named_settings_file_that_does_not_exist_is_an_error(tmp_path):
    result = _run({"RELAIS_ENV_FILE": str(tmp_path / "nope.env"),
                   "RELAIS_DATA_DIR": str(tmp_path)}, "check")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        f"relais: configuration error: RELAIS_ENV_FILE={tmp_path / 'nope.env'}: no such file.")


def test_an_empty_data_dir_is_an_error_not_the_current_folder(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "relais.cli", "check"], cwd=tmp_path, capture_output=True,
        text=True, timeout=120,
        env={**{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "PYTHONPATH")},
             "RELAIS_ENV_FILE": "", "RELAIS_DATA_DIR": "  "},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == ("relais: configuration error: RELAIS_DATA_DIR is set but "
                                     "empty: give a folder (or unset it for the default).")
    assert list(tmp_path.iterdir()) == []  # nothing written in the current folder


def test_simulate_call_against_a_production_configured_relais_says_why_in_one_line(tmp_path):
    audio = tmp_path / "message.wav"
    audio.write_bytes(b"RIFF")
    env = {"RELAIS_DATA_DIR": str(tmp_path / "data"), "RELAIS_DEMO": "1", "DEBUG": "false",
           "RELAIS_PUBLIC_URL": "http://127.0.0.1:8000"}
    result = _run(env, "simulate_call", "--to", "+33199000001", "--from", "+33611223344",
                  "--audio", str(audio), "--no-answer")
    assert result.returncode == 1
    message = result.stderr.strip()
    assert "\n" not in message, message
    assert message.startswith("CommandError: http://127.0.0.1:8000/")
    assert "answered HTTP 301 (a redirect)" in message and "dev.py start" in message


def test_a_settings_file_for_another_host_never_turns_debug_or_the_demo_on(tmp_path):
    data = tmp_path / "data"
    env_file = tmp_path / "relais.env"
    env_file.write_text(f"RELAIS_DATA_DIR={data}\nDEBUG=1\nRELAIS_DEMO=1\n"
                        "RELAIS_PUBLIC_URL=https://relais.example.org\n")
    result = _run({"RELAIS_ENV_FILE": str(env_file), "ALLOWED_HOSTS": "relais.example.org"},
                  "shell", "-c", SHOW)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [
        "False", str(data), "False", "https://relais.example.org"]


@pytest.mark.parametrize("variable", ["SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS",
                                      "RELAIS_PUBLIC_URL"])
def test_a_deployment_variable_in_the_environment_skips_the_checkouts_file(monkeypatch,
                                                                         variable):
    from relais import settings

    for name in settings.DEPLOYMENT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert not settings._deployment_in_environment()
    monkeypatch.setenv(variable, "relais.example.org")
    assert settings._deployment_in_environment()


def test_an_empty_data_dir_is_unset_for_the_model_cache(tmp_path):
    """Without Django settings (a plain script), RELAIS_DATA_DIR="" means ./var, not the
    current folder."""
    script = ("import sys; sys.modules['django'] = None; "
              "from relais.voicemail.understanding import model; print(model.model_dir())")
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "PYTHONPATH")}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60, env={**env, "RELAIS_DATA_DIR": ""})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "var" / "models")


def test_the_embedded_database_connection_is_kept_between_requests(tmp_path):
    """SQLite's connection survives a request's end (opening it, with its pragmas, costs
    as much CPU as a search answer); CONN_MAX_AGE=0 still closes it after each request."""
    script = ("from django.core.signals import request_finished, request_started; "
              "from django.db import connection; connection.ensure_connection(); "
              "c = connection.connection; request_started.send(None); "
              "request_finished.send(None); print(connection.connection is c)")
    for value, kept in (({}, "True"), ({"CONN_MAX_AGE": "0"}, "False")):
        result = _run({"DEBUG": "true", "RELAIS_DATA_DIR": str(tmp_path), "DATABASE_URL": "",
                       **value}, "shell", "-c", script)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == kept
