#!/usr/bin/env python3
"""A deliberately hostile event API on loopback, for scripts/check/valgrind.sh.

Usage: hostile-upstream.py PORT

  GET /getUserById/<id>   103 Early Hints, then the user (events ["e-<id>"])
  GET /getEventById/e-<x> 102 Processing, then the event ({"owner": "<x>"})
  GET /getUsers           200 with a body that never ends (until the peer leaves)
  anything else           404

Serves until killed; every connection on its own thread, keep-alive.
"""
import socket
import sys
import threading


def answer(conn, status, body):
    conn.sendall(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                 % (status, len(body), body))


def serve(conn):
    buffered = b""
    try:
        while True:
            while b"\r\n\r\n" not in buffered:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffered += chunk
            head, _, buffered = buffered.partition(b"\r\n\r\n")
            path = head.split(b"\r\n", 1)[0].split(b" ")[1].decode()
            if path.startswith("/getUserById/"):
                user = path.rsplit("/", 1)[1]
                conn.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
                answer(conn, 200, ('{"id":"%s","events":["e-%s"]}' % (user, user)).encode())
            elif path.startswith("/getEventById/e-"):
                conn.sendall(b"HTTP/1.1 102 Processing\r\n\r\n")
                answer(conn, 200, ('{"owner":"%s"}' % path.rsplit("/e-", 1)[1]).encode())
            elif path == "/getUsers":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n[")
                while True:
                    conn.sendall(b" " * 65536)
            else:
                answer(conn, 404, b"{}")
    except OSError:
        pass
    finally:
        conn.close()


def main():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", int(sys.argv[1])))
    listener.listen(128)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
