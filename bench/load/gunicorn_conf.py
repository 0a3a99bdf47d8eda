"""gunicorn settings the load benchmark adds to the production command (run_load.py passes `-c` this file
unless --no-preload): import the application and every URL module (views, serializers, scipy/lifelines
through the analysis app) once in the master, then fork. On a 2-core machine shared with other work, four
workers each importing all of that on their first request took longer than the 60 s worker timeout and were
killed; on an idle machine the production command boots in a few seconds and needs none of this."""

preload_app = True


def when_ready(server):
    from django.db import connections
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports every urls/views module before the workers fork
    connections.close_all()  # never share a database socket with forked workers
