"""A TCP relay on 127.0.0.1 in front of a real server, that holds the traffic when told.

Tests that act on a job "while it runs" (kill the daemon, cancel it, drop its
connections) must know it still runs, however fast the machine: the gate lets
at most ``budget`` bytes come from the server (less than the job needs to
finish), then holds every byte, both ways, until the test opens it again.
``close`` holds at once. With ``budget=0`` nothing passes, not even the
server's greeting, until the test opens it: the client is connected and waits.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class Gate:
    def __init__(self, host: str, port: int, budget: int, listen: str = "127.0.0.1") -> None:
        """``listen``: the loopback address clients reach the gate at (a host of its own)."""
        self.upstream = (host, port)
        self.budget: int | None = budget  # at most this many bytes from the server
        self.passed = 0  # bytes from the server, let through or held
        self._listener = socket.create_server((listen, 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._open = threading.Event()  # cleared: every pump waits
        self._open.set()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> Gate:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def close(self) -> None:
        """Hold every byte from now on, in both directions, on every connection."""
        self._open.clear()

    def open(self) -> None:
        """Let everything through from now on."""
        self.budget = None
        self._open.set()

    def allow(self, more: int) -> None:
        """Let ``more`` bytes come from the server, then hold again."""
        with self._lock:
            self.budget = self.passed + more
        self._open.set()

    def stop(self) -> None:
        self._open.set()
        with self._lock:
            for connection in [self._listener, *self._sockets]:
                with contextlib.suppress(OSError):
                    connection.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # stopped
            server = socket.create_connection(self.upstream)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, counted: bool = False) -> None:
        try:
            while True:
                self._open.wait()
                data = source.recv(4096)
                if not data:
                    break
                if counted:
                    data = self._spend(data)
                self._open.wait()  # what arrived while closing is held too
                target.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def _spend(self, data: bytes) -> bytes:
        """``data``, once the budget allows it all: held in the meantime."""
        with self._lock:
            if self.budget is not None and self.passed + len(data) > self.budget:
                self._open.clear()
            self.passed += len(data)
        return data
