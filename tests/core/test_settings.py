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


def test_production_settings_pass_check_deploy(tmp_path):
    result = _run(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x" * 20 + "-production-grade-secret-key-with-entropy-" + "y" * 20,
            "ALLOWED_HOSTS": "relais.example.org",
            "RELAIS_PUBLIC_URL": "https://relais.example.org",
            "RELAIS_DATA_DIR": str(tmp_path),
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "TWILIO_AUTH_TOKEN": "the-token-from-the-provider-console",
        },
        "check", "--deploy", "--fail-level", "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr


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
