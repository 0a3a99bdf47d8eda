import time
import pytest
from analysis import services
from tests.factories.analysis import cohort
pytestmark = pytest.mark.django_db

def test_timing(site_a, coordinator_a):
    cohort(site_a, n_nec=40, n_net=20, user=coordinator_a)
    t = time.perf_counter(); run = services.analysis_tick(); t1 = time.perf_counter() - t
    t = time.perf_counter(); run = services.analysis_run_execute(run.pk); t2 = time.perf_counter() - t
    ticks = []
    for _ in range(5):
        t = time.perf_counter(); assert services.analysis_tick() is None; ticks.append(time.perf_counter() - t)
    print(f"\nTIMING first tick {t1:.3f}s, full recompute {t2:.3f}s ({run.status}), unchanged ticks {[round(x,3) for x in ticks]}, timings {run.timings}")
