"""Start real servers for tests on free loopback ports, and stop them by pid."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    predicate: Callable[[], bool],
    timeout: float = 15.0,
    interval: float = 0.1,
    what: str = "condition",
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM by pid, then SIGKILL if it will not go."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def _redis_server(tmp_dir: Path, listen: list[str], what: str, port: int) -> subprocess.Popen:
    """A throwaway redis-server (no persistence, loopback only) with ``listen`` arguments."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not installed: the tests need a real Redis. "
            "Install it with `apt-get install redis-server` (scripts/test does this)."
        )
    process = subprocess.Popen(
        [
            binary,
            *listen,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_dir),
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    wait_for(lambda: port_open(port), what=f"{what} on port {port}")
    return process


def start_redis(tmp_dir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    return _redis_server(tmp_dir, ["--port", str(port)], "redis-server", port), port


def python_process(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Run ``python args...`` from the repo root with ``env`` on top of ours, logging to a file."""
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    log = open(log_path, "ab")  # noqa: SIM115  (closed when the process object is collected)
    return subprocess.Popen(
        [os.environ.get("PYTHON", sys.executable), *args],  # the interpreter running the tests
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A fresh self-signed certificate for ``host`` (an IP) and its key, as PEM files: what
    Heroku's Redis presents. The certificate doubles as its own CA file."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "redis.crt", directory / "redis.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def start_tls_redis(tmp_dir: Path) -> tuple[subprocess.Popen, int, Path]:
    """A Redis that only speaks TLS (no plain port), with a self-signed certificate; returns the
    process, its port and the certificate."""
    cert, key = self_signed_certificate(tmp_dir)
    port = free_port()
    listen = ["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(cert)]
    listen += ["--tls-key-file", str(key), "--tls-ca-cert-file", str(cert)]
    listen += ["--tls-auth-clients", "no"]
    process = _redis_server(tmp_dir, listen, "TLS redis-server", port)
    return process, port, cert


@contextmanager
def emulator_process(
    module: str,
    env: dict[str, str],
    log_path: Path,
    what: str,
    *args: str,
    timeout: float = 20.0,
) -> Iterator[str]:
    """``python -m <module>`` (a platform's emulator) on a free loopback port; its base URL while
    the block runs, stopped by pid after it."""
    port = free_port()
    process = python_process(
        ["-m", module, "--host", "127.0.0.1", "--port", str(port), *args], env, log_path
    )
    try:
        wait_for(lambda: port_open(port), timeout=timeout, what=what)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def reset_emulator(url: str) -> str:
    """The running emulator back to its seeded world (for a test of its own); its URL."""
    import requests

    requests.post(f"{url}/_emulator/reset", timeout=10).raise_for_status()
    return url
