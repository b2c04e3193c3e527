import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def run_manage(*args: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    clean.update(env, CORRAL_VAR_DIR=str(tmp_path / "var"))
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_check_deploy(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        env={"DEBUG": "0", "SECRET_KEY": "x" * 64 + "-production-like-secret", "ALLOWED_HOSTS": "corral.example.org"},
        tmp_path=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    result = run_manage("check", env={"DEBUG": "0", "ALLOWED_HOSTS": "corral.example.org"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_malformed_setting_names_the_variable(tmp_path):
    result = run_manage("check", env={"DEBUG": "perhaps"}, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "DEBUG must be one of" in result.stderr


def test_a_websocket_origin_that_is_not_a_websocket_url_stops_start_up(tmp_path):
    env = {"DEBUG": "1", "WEBSOCKET_ORIGIN": "https://live.corral.example"}
    result = run_manage("check", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "WEBSOCKET_ORIGIN must start with ws:// or wss://, got 'https://live.corral.example'" in result.stderr


def test_production_serve_refuses_one_port_for_http_and_websockets(tmp_path):
    env = {"DEBUG": "1", "REDIS_URL": "redis://127.0.0.1:6379/15"}
    result = run_manage("serve", "--port", "8123", "--websocket-port", "8123", env=env, tmp_path=tmp_path)
    assert result.returncode != 0
    assert "--websocket-port must differ from --port (8123)" in result.stderr


def test_the_embedded_mode_generates_and_keeps_a_secret_key(tmp_path):
    env = {"DEBUG": "1", "DATABASE_URL": "", "REDIS_URL": ""}
    first = run_manage(
        "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)", env=env, tmp_path=tmp_path
    )
    second = run_manage(
        "shell", "-c", "from django.conf import settings; print(settings.SECRET_KEY)", env=env, tmp_path=tmp_path
    )
    assert first.returncode == 0, first.stderr
    assert len(first.stdout.strip()) >= 50
    assert first.stdout == second.stdout
    assert (tmp_path / "var" / "secret_key").stat().st_mode & 0o077 == 0
