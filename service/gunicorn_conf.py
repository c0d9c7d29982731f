"""gunicorn settings for the web process, shared by the Procfile and `narrator up`:
`gunicorn -c python:service.gunicorn_conf --bind HOST:PORT 'service:create_app()'`.

gthread: event streams and slow clients hold a thread each, not a process. Keep-alive 30 s:
with gunicorn's 2 s default, a client polling every ~2 s sends just as the server drops the idle
connection and gets "connection reset" (seen in tests/test_load.py); idle connections wait in the
poller, not in a thread, so a longer keep-alive is cheap. No control socket: gunicorn's default
one sits at a fixed path per user, so two services on one machine would clash on it.
Each web process loads the normalizer's number tables before it takes requests (they load
lazily, so commands like `narrator --help` stay quick), so the first POST does not wait for them.
"""

worker_class = "gthread"
threads = 32
keepalive = 30
control_socket_disable = True
logger_class = "service.logs.RedactingLogger"


def post_worker_init(worker) -> None:
    """Before this process answers its first request: the tables a POST's text needs."""
    from narration.normalize import load_tables

    load_tables()
