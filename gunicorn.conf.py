"""gunicorn's settings for the portal; gunicorn reads ./gunicorn.conf.py by itself.

Forwarded headers only. gunicorn turns `X-Forwarded-Proto: https` (and its kin) into
an HTTPS request when it comes from an address in `forwarded_allow_ips`, by default
127.0.0.1: a client on the same machine, or any client of a local proxy that passes
the header on, could make a plain HTTP request look like HTTPS (no redirect to
HTTPS, HSTS sent). Here they are trusted only when DJANGO_BEHIND_PROXY says the
portal runs behind a TLS-terminating proxy (the same switch as Django's
SECURE_PROXY_SSL_HEADER), and then only from GUNICORN_FORWARDED_ALLOW_IPS (default:
a proxy on this machine).
"""

from pathlib import Path

import environ

env = environ.Env()
environ.Env.read_env(Path(__file__).resolve().parent / ".env", overwrite=False)

if env.bool("DJANGO_BEHIND_PROXY", default=False):
    forwarded_allow_ips = env.str("GUNICORN_FORWARDED_ALLOW_IPS", default="127.0.0.1,::1")
else:
    forwarded_allow_ips = ""
    secure_scheme_headers: dict[str, str] = {}

# Workers and threads. A sync worker serves one request at a time, and the arbiter
# kills it after `timeout` seconds of one request, whatever it streams: a full
# dids_get or CSV export of 1,000,000 DIDs (about 540 MB of XML, a minute or more)
# would end mid-stream with HTTP 200 already sent. A gthread worker's main loop keeps
# telling the arbiter it is alive while its threads serve, so `timeout` only catches a
# worker that is really stuck, and the threads overlap the many short API requests'
# waits for PostgreSQL. Each thread keeps its own database connection
# (DATABASE_CONN_MAX_AGE): PostgreSQL needs workers x threads connections.
# The figures behind these defaults: README.md, "Performance" (bench/api.py).
workers = env.int("GUNICORN_WORKERS", default=4)
worker_class = env.str("GUNICORN_WORKER_CLASS", default="gthread")
# gunicorn turns a sync worker with more than one thread into a gthread worker.
threads = env.int("GUNICORN_THREADS", default=4 if worker_class == "gthread" else 1)
timeout = env.int("GUNICORN_TIMEOUT", default=60)
keepalive = env.int("GUNICORN_KEEPALIVE", default=5)
