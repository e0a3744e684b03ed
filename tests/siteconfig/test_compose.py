"""compose.yaml, read as the deployment contract: health checks, one image, no secret defaults,
migrations first, published ports on loopback, a shutdown grace longer than the app's; and
``docker compose config`` where the Docker compose CLI is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
# One-off jobs: they run to completion (no health to check); others wait for their success.
ONE_OFF = {name for name, service in SERVICES.items() if service.get("restart") == "no"}
APP_SERVICES = ["migrate", "web", "worker"]
# Variables that hold secrets: never a default, never written into the file.
# (EMAIL_URL may carry a password too; its default, console://, carries none.)
SECRET_VARIABLES = ["DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "SENTRY_DSN", "ACADEMY_METRICS_TOKEN"]
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<op>:?[-?])?(?P<rest>[^}]*)\}")


def interpolations(value: Any) -> list[re.Match[str]]:
    text = yaml.safe_dump(value)
    return list(INTERPOLATION.finditer(text))


def seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)s", text)
    assert match, text
    return float(match.group(1))


def test_every_long_running_service_has_a_health_check() -> None:
    assert {"migrate"} == ONE_OFF
    missing = [name for name, service in SERVICES.items() if name not in ONE_OFF and "healthcheck" not in service]
    assert missing == []


def test_web_and_worker_share_one_image() -> None:
    images = {name: (SERVICES[name]["image"], SERVICES[name]["build"]) for name in APP_SERVICES}
    assert set(images.values()) == {("academy:latest", ".")}


def test_no_secret_has_a_default() -> None:
    found = {match.group("name"): (match.group("op"), match.group("rest")) for match in interpolations(COMPOSE)}
    for name in SECRET_VARIABLES:
        op, rest = found[name]
        # Required (":?") or empty when unset (":-" with nothing after it): never a value of ours.
        assert op == ":?" or (op == ":-" and rest == ""), (name, op, rest)
    assert found["DJANGO_SECRET_KEY"][0] == ":?"
    assert found["POSTGRES_PASSWORD"][0] == ":?"
    # Nor a literal password in the file.
    assert "POSTGRES_PASSWORD: academy" not in (ROOT / "compose.yaml").read_text()


def test_migrations_run_before_web_and_worker_start() -> None:
    assert "migrate --noinput" in " ".join(SERVICES["migrate"]["command"])
    for name in ("web", "worker"):
        assert SERVICES[name]["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert SERVICES["migrate"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"},
    }


def test_published_ports_bind_to_loopback_unless_told_otherwise() -> None:
    ports = [port for service in SERVICES.values() for port in service.get("ports", [])]
    assert ports == ["${ACADEMY_BIND_ADDRESS:-127.0.0.1}:${ACADEMY_WEB_PORTS:-8000-8003}:8000"]
    # It trusts one proxy's forwarded headers, hence the loopback default.
    assert SERVICES["web"]["environment"]["ACADEMY_NUM_PROXIES"] == "1"


def test_docker_stops_after_the_app_had_its_grace() -> None:
    for name in ("web", "worker"):
        service = SERVICES[name]
        assert seconds(service["stop_grace_period"]) > float(service["environment"]["ACADEMY_SHUTDOWN_GRACE"])
        assert service["init"] is True
        assert service["command"][:3] == ["python", "manage.py", "run_academy"]


@pytest.mark.skipif(
    subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0
    if shutil.which("docker") else True,
    reason="the docker compose CLI is not installed",
)
def test_docker_compose_config_accepts_the_file() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "compose.yaml"), "config", "--quiet"],
        capture_output=True, text=True,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "DJANGO_SECRET_KEY": "x" * 50, "POSTGRES_PASSWORD": "pw"},
    )
    assert result.returncode == 0, result.stderr


def test_the_image_has_every_package_the_project_installs() -> None:
    import tomllib

    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\S+) \1$", dockerfile, flags=re.M))
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.rstrip("*") for pattern in patterns}

    assert packages - copied == set()
