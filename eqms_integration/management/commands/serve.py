"""Run the whole service in the foreground: web server, one Celery worker and celery-beat.

Ctrl-C (or SIGTERM) stops all three; if one of them exits, the others are stopped too and
the command exits with that process's status.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from eqms_integration import env, metrics, runenv

STOP_GRACE_SECONDS = 15


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and celery-beat together until interrupted."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000", help="host:port of the web server")
        parser.add_argument("--web-workers", type=int, default=2)
        parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")

    def commands(self, bind: str, web_workers: int, concurrency: int) -> dict[str, list[str]]:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "eqms_integration"]
        # gunicorn's access lines are not JSON: with LOG_FORMAT=json they are left out.
        access_log = [] if settings.LOG_FORMAT == "json" else ["--access-logfile", "-"]
        return {
            "web": [
                python,
                "-m",
                "gunicorn",
                "eqms_integration.wsgi:application",
                "--bind",
                bind,
                "--workers",
                str(web_workers),
                *access_log,
                "--no-control-socket",
                "--graceful-timeout",
                "10",
            ],
            "worker": [
                *celery,
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(concurrency),
                "--without-mingle",
                "--without-gossip",
            ],
            "beat": [*celery, "beat", "--loglevel", "INFO"],
        }

    def handle(self, *args: Any, bind: str, web_workers: int, concurrency: int, **_: Any) -> None:
        if web_workers < 1 or concurrency < 1:
            raise CommandError("--web-workers and --concurrency must be at least 1.")
        stopping = False

        def request_stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        if settings.DEBUG:
            # Development only: commands run beside this server read the same settings.
            runenv.save(settings.VAR_DIR / runenv.FILE_NAME, env.NAMES_READ | {"DEBUG"})

        metrics.multiprocess_dir_reset()  # samples of processes from an earlier start go
        processes = {
            name: subprocess.Popen(argv)  # noqa: S603 - our own interpreter and fixed arguments
            for name, argv in self.commands(bind, web_workers, concurrency).items()
        }
        self.stdout.write(
            self.style.SUCCESS(
                f"Serving http://{bind}/ (admin at /admin/, API docs at /api/docs/), "
                "with a Celery worker and beat. Press Ctrl-C to stop."
            )
        )
        exited: tuple[str, int] | None = None
        while not stopping and exited is None:
            time.sleep(0.5)
            if stopping:
                # Ctrl-C reaches the children too; their exits are the stop, not a failure.
                break
            for name, process in processes.items():
                if process.poll() is not None:
                    exited = (name, process.returncode)
                    break
        self.stop_all(processes)
        if exited is not None and not stopping:
            raise CommandError(f"The {exited[0]} process exited with status {exited[1]}.")
        self.stdout.write("Stopped.")

    def stop_all(self, processes: dict[str, subprocess.Popen]) -> None:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for name, process in processes.items():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in {STOP_GRACE_SECONDS}s; killing it.")
                process.kill()
                process.wait()
