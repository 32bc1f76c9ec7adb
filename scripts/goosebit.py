#!/opt/twinslot-test/goosebit-venv/bin/python
"""Runs and drives a local goosebit (hawkBit DDI server) for twinslot's integration tests.

Run it with the venv's python that scripts/setup.sh makes (/opt/twinslot-test/goosebit-venv).
Everything listens on and talks to 127.0.0.1 only. One server per DIR; DIR holds its settings,
SQLite database, artifacts, log (server.log), admin credentials (admin.json) and server.json.

  goosebit.py start --dir DIR [--port N] [--poll-time HH:MM:SS] [--device-auth-mode lax|strict|setup]
  goosebit.py stop --dir DIR
  goosebit.py upload --dir DIR FILE.swu            -> {"id": N}
  goosebit.py assign --dir DIR --device ID --software N|latest|rollout
  goosebit.py device --dir DIR --device ID         -> the device's JSON from GET /api/v1/devices
  goosebit.py log --dir DIR --device ID            -> the device log text
  goosebit.py set-token --dir DIR --device ID --token T
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
# Never let a proxy from the environment see 127.0.0.1 traffic.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Failure(Exception):
    pass


def http(method: str, url: str, data: bytes | None = None, headers: dict[str, str] | None = None,
         timeout: float = 30) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with OPENER.open(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def form(fields: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    body = urllib.parse.urlencode(fields).encode()
    return body, {"Content-Type": "application/x-www-form-urlencoded"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie nobody reaps yet has exited all the same.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def load_server(directory: Path) -> dict:
    path = directory / "server.json"
    if not path.exists():
        raise Failure(f"no server.json in {directory}: start the server first")
    return json.loads(path.read_text())


def migrations_dir() -> Path:
    # Not `import goosebit`: next to this script that name is this script.
    return Path(sysconfig.get_paths()["purelib"]) / "goosebit" / "db" / "migrations"


def settings(directory: Path, auth_mode: str | None, poll_time: str) -> dict:
    return {
        "db_uri": f"sqlite:///{directory / 'db.sqlite3'}",
        "artifacts_dir": str(directory / "artifacts"),
        "poll_time": poll_time,
        "tenant": "DEFAULT",
        "track_device_ip": True,
        "device_auth": {"enable": auth_mode is not None, "mode": auth_mode or "strict"},
        # goosebit's default logging config silences uvicorn: keep its access log and tracebacks.
        "logging": {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"simple": {"format": "%(asctime)s - %(name)s - %(levelname)s - %(message)s"}},
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "simple", "level": "DEBUG"}},
            "loggers": {
                "tortoise": {"level": "WARNING"},
                "aiosqlite": {"level": "WARNING"},
                "multipart": {"level": "INFO"},
                # uvicorn configured these before importing goosebit; dictConfig keeps their
                # propagate=False, so they need their own handler.
                "uvicorn": {"level": "INFO", "handlers": ["console"], "propagate": False},
                "uvicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
                "uvicorn.error": {"level": "INFO"},
            },
            "root": {"level": "INFO", "handlers": ["console"]},
        },
    }


def cmd_start(args: argparse.Namespace) -> None:
    directory = Path(args.dir).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "artifacts").mkdir(exist_ok=True)
    server_json = directory / "server.json"
    if server_json.exists():
        old = json.loads(server_json.read_text())
        if pid_alive(int(old["pid"])):
            raise Failure(f"a server is already running for {directory} (pid {old['pid']})")
        server_json.unlink()

    # JSON is YAML: goosebit reads the settings file with a YAML loader.
    settings_file = directory / "goosebit.yaml"
    settings_file.write_text(json.dumps(settings(directory, args.device_auth_mode, args.poll_time), indent=2) + "\n")
    (directory / "pyproject.toml").write_text(
        "[tool.aerich]\n"
        'tortoise_orm = "goosebit.db.config.TORTOISE_CONF"\n'
        f'location = "{migrations_dir()}"\n'
        'src_folder = "./."\n'
    )
    env = dict(os.environ, GOOSEBIT_SETTINGS=str(settings_file), NO_PROXY="*", no_proxy="*")
    env["PATH"] = f"{VENV_BIN}:{env.get('PATH', '')}"
    log_path = directory / "server.log"
    with open(log_path, "ab") as log:
        migrate = subprocess.run([str(VENV_BIN / "aerich"), "upgrade"], cwd=directory, env=env, stdout=log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if migrate.returncode != 0:
        raise Failure(f"aerich upgrade failed; see {log_path}")

    # A child inherits its parent's blocked and ignored signals, and a test runner may block
    # SIGTERM in the thread that spawns us: then uvicorn would never see stop's SIGTERM.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)

    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "ab") as log:
        # start_new_session: the server leads its own process group (setsid), so stop can end it
        # and everything it spawned by that group, and a test runner's signals don't reach it.
        process = subprocess.Popen(
            [str(VENV_BIN / "uvicorn"), "goosebit:app", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            cwd=directory, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    info = {"url": url, "pid": process.pid, "dir": str(directory)}
    server_json.write_text(json.dumps(info, separators=(",", ":")) + "\n")

    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            server_json.unlink(missing_ok=True)
            tail = log_path.read_text(errors="replace")[-3000:]
            raise Failure(f"goosebit exited with {process.returncode} while starting:\n{tail}")
        try:
            status, _ = http("GET", url + "/docs", timeout=2)
            if status == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_pid(process.pid)
            server_json.unlink(missing_ok=True)
            raise Failure(f"goosebit did not answer GET /docs within 60 s; see {log_path}")
        time.sleep(0.2)

    admin_path = directory / "admin.json"
    if admin_path.exists():
        # A restart on the same database: the admin exists already.
        print(json.dumps(info, separators=(",", ":")), flush=True)
        return
    admin = {"username": "admin@twinslot.test", "password": secrets.token_urlsafe(18)}
    status, body = http("POST", url + "/setup", *form(admin))
    if status != 200:
        stop_pid(process.pid)
        server_json.unlink(missing_ok=True)
        raise Failure(f"POST /setup answered {status}: {body[:500]!r}")
    admin_path.write_text(json.dumps(admin) + "\n")
    admin_path.chmod(0o600)
    print(json.dumps(info, separators=(",", ":")), flush=True)


def stop_pid(pid: int, timeout: float = 15) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                return
            time.sleep(0.1)
    raise Failure(f"process group {pid} did not exit")


def cmd_stop(args: argparse.Namespace) -> None:
    directory = Path(args.dir).resolve()
    server_json = directory / "server.json"
    if not server_json.exists():
        return
    stop_pid(int(load_server(directory)["pid"]))
    server_json.unlink(missing_ok=True)


class Client:
    def __init__(self, directory: str):
        self.directory = Path(directory).resolve()
        self.url = load_server(self.directory)["url"]
        admin = json.loads((self.directory / "admin.json").read_text())
        status, body = http("POST", self.url + "/login", *form(admin))
        if status != 200:
            raise Failure(f"POST /login answered {status}: {body[:500]!r}")
        self.token = json.loads(body)["access_token"]

    def call(self, method: str, path: str, payload: object | None = None, data: bytes | None = None,
             content_type: str | None = None) -> object:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if payload is not None:
            data = json.dumps(payload).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        status, body = http(method, self.url + path, data=data, headers=headers, timeout=120)
        if status // 100 != 2:
            raise Failure(f"{method} {path} answered {status}: {body[:1000].decode(errors='replace')}")
        return json.loads(body) if body else None

    def devices(self) -> list[dict]:
        return self.call("GET", "/api/v1/devices")["devices"]  # type: ignore[index]

    def device(self, device_id: str) -> dict:
        for device in self.devices():
            if device["id"] == device_id:
                return device
        raise Failure(f"no device {device_id!r}")


def cmd_upload(args: argparse.Namespace) -> None:
    client = Client(args.dir)
    path = Path(args.file)
    boundary = "----twinslot" + secrets.token_hex(12)
    name = path.name.replace('"', "_")
    body = b"".join([
        f"--{boundary}\r\n".encode(),
        f'Content-Disposition: form-data; name="file"; filename="{name}"\r\n'.encode(),
        b"Content-Type: application/octet-stream\r\n\r\n",
        path.read_bytes(),
        f"\r\n--{boundary}--\r\n".encode(),
    ])
    result = client.call("PUT", "/api/v1/software", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    print(json.dumps({"id": result["id"]}, separators=(",", ":")))  # type: ignore[index]


def cmd_assign(args: argparse.Namespace) -> None:
    client = Client(args.dir)
    client.device(args.device)  # goosebit's PATCH answers 500, not 404, for an unknown device
    client.call("PATCH", "/api/v1/devices", {"devices": [args.device], "software": str(args.software)})


def cmd_device(args: argparse.Namespace) -> None:
    print(json.dumps(Client(args.dir).device(args.device)))


def cmd_log(args: argparse.Namespace) -> None:
    client = Client(args.dir)
    client.device(args.device)  # GET .../log would register an unknown id as a new device
    result = client.call("GET", f"/api/v1/devices/{urllib.parse.quote(args.device, safe='')}/log")
    sys.stdout.write(result.get("log") or "")  # type: ignore[union-attr]


def cmd_devices(args: argparse.Namespace) -> None:
    print(json.dumps(Client(args.dir).devices()))


def cmd_rollout(args: argparse.Namespace) -> None:
    # Devices in update mode "rollout" on this feed get the software (fleet soak).
    client = Client(args.dir)
    client.call("PUT", "/api/v1/rollouts", {"name": args.name, "feed": args.feed, "software_id": int(args.software)})


def cmd_set_token(args: argparse.Namespace) -> None:
    # PUT creates the device when it does not exist yet (strict-mode provisioning).
    Client(args.dir).call("PUT", "/api/v1/devices", {"devices": [args.device], "auth_token": args.token})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    start = sub.add_parser("start")
    start.add_argument("--dir", required=True)
    start.add_argument("--port", type=int, default=0, help="0 (default): pick a free port")
    start.add_argument("--poll-time", default="00:00:01", help="the polling sleep the server hands out")
    start.add_argument("--device-auth-mode", choices=["lax", "strict", "setup"], default=None,
                       help="enable DDI TargetToken auth in this mode (default: off)")
    start.set_defaults(func=cmd_start)

    stop = sub.add_parser("stop")
    stop.add_argument("--dir", required=True)
    stop.set_defaults(func=cmd_stop)

    upload = sub.add_parser("upload")
    upload.add_argument("--dir", required=True)
    upload.add_argument("file")
    upload.set_defaults(func=cmd_upload)

    assign = sub.add_parser("assign")
    assign.add_argument("--dir", required=True)
    assign.add_argument("--device", required=True)
    assign.add_argument("--software", required=True, help="a software id, latest or rollout")
    assign.set_defaults(func=cmd_assign)

    for name, func in (("device", cmd_device), ("log", cmd_log)):
        p = sub.add_parser(name)
        p.add_argument("--dir", required=True)
        p.add_argument("--device", required=True)
        p.set_defaults(func=func)

    devices = sub.add_parser("devices", help="every device, as the management API lists them (JSON)")
    devices.add_argument("--dir", required=True)
    devices.set_defaults(func=cmd_devices)

    rollout = sub.add_parser("rollout", help="roll software out to the devices of a feed in update mode rollout")
    rollout.add_argument("--dir", required=True)
    rollout.add_argument("--software", required=True)
    rollout.add_argument("--feed", default="default")
    rollout.add_argument("--name", default="soak")
    rollout.set_defaults(func=cmd_rollout)

    token = sub.add_parser("set-token")
    token.add_argument("--dir", required=True)
    token.add_argument("--device", required=True)
    token.add_argument("--token", required=True)
    token.set_defaults(func=cmd_set_token)

    args = parser.parse_args()
    try:
        args.func(args)
    except Failure as error:
        print(f"goosebit.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
