"""gunicorn settings for the web process, shared by the Procfile and `narrator up`:
`gunicorn -c python:service.gunicorn_conf --bind HOST:PORT 'service:create_app()'`.

gthread: event streams, streamed speech and slow clients hold a thread each, not a process.
Event streams may take at most NARRATOR_EVENTS_MAX_STREAMS (16) of the 32 threads and speech
streams SPEECH_MAX_STREAMS (8) (service/streams.py), so the page, the API and podcast apps
always have a quarter of them, and quick requests need no more. Keep-alive 30 s:
with gunicorn's 2 s default, a client polling every ~2 s sends just as the server drops the idle
connection and gets "connection reset" (seen in tests/test_load.py); idle connections wait in the
poller, not in a thread, so a longer keep-alive is cheap. No control socket: gunicorn's default
one sits at a fixed path per user, so two services on one machine would clash on it.

The umask comes from NARRATOR_FILE_MODE, set here in the master before it forks, so the database,
media and cache files the web process creates are its owner's only (0600) by default.
Each web process loads the normalizer's number tables before it takes requests (they load
lazily, so commands like `narrator --help` stay quick), so the first POST does not wait for them.
"""

from narration.settings import apply_file_mode, load_settings

apply_file_mode(load_settings())

worker_class = "gthread"
threads = 32
keepalive = 30
control_socket_disable = True
logger_class = "service.logs.RedactingLogger"


def post_worker_init(worker) -> None:
    """Before this process answers its first request: the tables a POST's text needs."""
    from narration.normalize import load_tables

    load_tables()
