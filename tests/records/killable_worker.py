"""A documents worker whose batch record rendering never ends, so that a test can kill its process mid-job.

Run by tests/records/test_worker_killed.py as `python -m tests.records.killable_worker`, with the test's settings.
"""

import json
import os
import time
from pathlib import Path

from manufacturing import create_app
from manufacturing.config import TestConfig


def main() -> None:
    settings = json.loads(os.environ["KILLABLE_WORKER_SETTINGS"])
    started = Path(os.environ["KILLABLE_WORKER_STARTED"])
    app = create_app(type("KillableConfig", (TestConfig,), settings))
    from manufacturing.records import documents, jobs

    def never_ending(template, **context):  # the certificate is stored already, in this very transaction
        started.write_text(template)
        time.sleep(600)

    documents.render_pdf = never_ending
    with app.app_context():
        jobs.run_next()


if __name__ == "__main__":
    main()
