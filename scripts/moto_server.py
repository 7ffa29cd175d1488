"""moto's server, one request at a time.

moto applies a conditional write in steps without a lock, so two writes
racing on one item can both pass their condition, which DynamoDB never
allows. The tests therefore serve moto's application behind one lock: each
request runs alone, as if the engine's writes were atomic.

    python scripts/moto_server.py PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


class OneAtATime:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # The whole body is produced under the lock.
            return list(self.app(environ, start_response))


def main() -> None:
    port = int(sys.argv[1])
    app = OneAtATime(DomainDispatcherApplication(create_backend_app))
    run_simple("127.0.0.1", port, app, threaded=True)


if __name__ == "__main__":
    main()
