import os
import subprocess
import sys


def _run(env_overrides, *args):
    # A clean environment: only what the process needs plus the variables under test.
    keep = {"PATH", "HOME", "LANG", "PYTHONPATH", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-m", "relais.cli", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )


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


def test_check_deploy_warns_about_the_local_phone_token(tmp_path):
    result = _run(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x" * 20 + "-production-grade-secret-key-with-entropy-" + "y" * 20,
            "ALLOWED_HOSTS": "relais.example.org",
            "RELAIS_PUBLIC_URL": "https://relais.example.org",
            "RELAIS_DATA_DIR": str(tmp_path),
        },
        "check", "--deploy", "--fail-level", "WARNING",
    )
    assert result.returncode != 0
    assert "relais.calls.W001" in result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {
        "DEBUG": "false", "RELAIS_DATA_DIR": str(tmp_path), "SECRET_KEY": "",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/relais",
    }
    result = _run(env, "check")
    assert result.returncode != 0
    assert "configuration error: SECRET_KEY must be set" in result.stderr


def test_embedded_default_keeps_a_private_key_file(tmp_path):
    result = _run({"RELAIS_DATA_DIR": str(tmp_path)}, "check")
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
