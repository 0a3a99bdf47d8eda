"""Settings of the worker a fault test starts: the project's settings, with the jobs that tasks enqueue
(analysis runs, exports) routed to the test's private queue instead of the shared default one."""

import os

from registry.settings import *  # noqa: F403

ANALYSIS_QUEUE = EXPORTS_QUEUE = os.environ["FAULTS_QUEUE"]
