from celery import shared_task


@shared_task(name="core.probe")
def probe(token: str) -> dict:
    """Round trip through broker, worker and result backend (health checks and the worker test)."""
    import os

    return {"token": token, "worker_pid": os.getpid()}
