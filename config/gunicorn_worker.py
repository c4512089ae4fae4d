"""gunicorn's gthread worker, taking a new connection only while one of its threads is free.

Stock gthread accepts every connection it can hold (`worker_connections`, 1000): a burst of new
connections lands in whichever worker wakes first, and that one process's GIL then serves them
all while the other workers idle. bench/ingest saw it as throughput that halved from one run to
the next: every keep-alive connection in one worker gave 1,673 to 1,829 requests/s at the ceiling,
spread over several 4,092 to 4,916 (docs/benchmarks.md). A worker whose threads are all busy stops
accepting, so a new connection waits in the shared queue for a worker that can serve it at once.
(SO_REUSEPORT, which spreads connections in the kernel, was rejected: a recycled worker drops the
connections queued on its own socket.)
"""

from gunicorn.workers.gthread import ThreadWorker


class BalancedThreadWorker(ThreadWorker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requests_in_flight = 0

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled and self.requests_in_flight < self.cfg.threads)

    def enqueue_req(self, conn):
        self.requests_in_flight += 1
        if self.requests_in_flight >= self.cfg.threads:
            self.set_accept_enabled(False)
        super().enqueue_req(conn)

    def finish_request(self, conn, fs):
        self.requests_in_flight -= 1
        super().finish_request(conn, fs)
        self.set_accept_enabled(self.alive and self.nr_conns < self.worker_connections)
