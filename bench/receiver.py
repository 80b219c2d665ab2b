"""A webhook receiver for the benches: asyncio, HTTP/1.1 with keep-alive, answers 200 at once.

Every POST is recorded as a line `<unix time>\t<webhook-id>\t<path>\t<signature>` in
`<out>/arrivals-<pid>.tsv` (flushed every 0.1 s), where <signature> is 1 (verified with the
`standardwebhooks` library against the secret the bench wrote for that path in the secrets
file), 0 (verification failed), or - (not sampled, or no secret known for the path).
Several processes can share the port (SO_REUSEPORT), each with its own file.

    .venv/bin/python bench/receiver.py --port P --out DIR --secrets FILE [--processes 1]
                                       [--verify-every 1]

Prints `ready <port>` when every process listens. Stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import socket
import sys
import time
from pathlib import Path

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
RESPONSE_CLOSE = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
SIGNED = ("webhook-id", "webhook-timestamp", "webhook-signature")


class Recorder:
    def __init__(self, out: Path, secrets_file: Path, verify_every: int) -> None:
        self.file = open(out / f"arrivals-{os.getpid()}.tsv", "a", buffering=1 << 20)  # noqa: SIM115
        self.secrets_file = secrets_file
        self.verify_every = verify_every
        self.verifiers: dict[str, Webhook] = {}
        self.loaded_at = 0
        self.seen = 0

    def verifier(self, path: str) -> Webhook | None:
        if path not in self.verifiers:
            # The bench writes a subscription's secret before anything is sent to its path.
            try:
                changed = os.stat(self.secrets_file).st_mtime_ns
            except OSError:
                return None
            if changed != self.loaded_at:
                self.loaded_at = changed
                try:
                    secrets = json.loads(self.secrets_file.read_text())
                except (OSError, ValueError):
                    secrets = {}
                self.verifiers = {p: Webhook(s) for p, s in secrets.items()}
        return self.verifiers.get(path)

    def record(self, path: str, headers: dict[str, str], body: bytes) -> None:
        now = time.time()
        self.seen += 1
        verdict = "-"
        if self.verify_every and self.seen % self.verify_every == 0:
            webhook = self.verifier(path)
            if webhook is not None:
                try:
                    webhook.verify(body, {name: headers.get(name, "") for name in SIGNED})
                    verdict = "1"
                except WebhookVerificationError:
                    verdict = "0"
        self.file.write(f"{now:.6f}\t{headers.get('webhook-id', '')}\t{path}\t{verdict}\n")

    def flush(self) -> None:
        self.file.flush()


class HookProtocol(asyncio.Protocol):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            lines = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
            method, path, version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            total = end + 4 + int(headers.get("content-length") or 0)
            if len(self.buffer) < total:
                return
            body = bytes(self.buffer[end + 4 : total])
            del self.buffer[:total]
            if method == "POST":
                self.recorder.record(path, headers, body)
            close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            if self.transport is None:  # pragma: no cover - data arrives only once connected
                return
            self.transport.write(RESPONSE_CLOSE if close else RESPONSE)
            if close:
                self.transport.close()
                return


def serve(sock: socket.socket, out: Path, secrets_file: Path, verify_every: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us with SIGTERM
    recorder = Recorder(out, secrets_file, verify_every)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
        server = await loop.create_server(lambda: HookProtocol(recorder), sock=sock, backlog=1024)

        def flush() -> None:
            recorder.flush()
            loop.call_later(0.1, flush)

        flush()
        await stop
        server.close()
        recorder.flush()

    asyncio.run(main())


def listening_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--secrets", type=Path, required=True)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--verify-every", type=int, default=1, help="0: verify none")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    context = multiprocessing.get_context("fork")
    children = [
        context.Process(
            target=serve,
            args=(listening_socket(args.port), args.out, args.secrets, args.verify_every),
        )
        for _ in range(args.processes)
    ]
    for child in children:
        child.start()
    print(f"ready {args.port}", flush=True)

    def stop(signum: int, frame: object) -> None:
        for child in children:
            if child.pid:
                os.kill(child.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        child.join()
    sys.exit(0)


if __name__ == "__main__":
    main()
