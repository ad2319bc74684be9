"""A TCP proxy that can freeze: it stops forwarding in both directions but keeps every
socket open, as a network path that silently drops packets looks to the client (no reset,
no refusal, just no answer). Connections made while frozen are accepted and never served."""

from __future__ import annotations

import select
import socket
import threading


class FrozenProxy:
    """127.0.0.1:``port`` forwards to ``upstream`` until ``freeze()``; ``thaw()`` resumes."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._running = threading.Event()
        self._running.set()
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def freeze(self) -> None:
        self._running.clear()

    def thaw(self) -> None:
        self._running.set()

    def close(self) -> None:
        self._closed.set()
        self._running.set()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()

    def _keep(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._keep(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        self._running.wait()  # a connection made while frozen waits, unanswered
        if self._closed.is_set():
            return
        try:
            server = socket.create_connection(self.upstream)
        except OSError:
            client.close()
            return
        self._keep(server)
        peers = {client: server, server: client}
        while not self._closed.is_set():
            if not self._running.is_set():
                self._running.wait(0.05)  # frozen: read nothing, send nothing
                continue
            try:
                ready, _, _ = select.select(list(peers), [], [], 0.05)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    peers[sock].sendall(data)
            except OSError:
                return
