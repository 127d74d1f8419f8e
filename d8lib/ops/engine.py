"""papermill's engine for a kept kernel (``d8lib.ops.kernels``): the notebook runs as
papermill runs it, on a kernel that papermill neither starts nor ends."""

from __future__ import annotations

import logging

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from traitlets import Any, Unicode

from d8lib.ops.kernels import raise_unless_ok

ENGINE = "d8-warm"


class _KeptKernelClient(PapermillNotebookClient):
    """papermill's client on a kernel it does not own, through the kernel's kept client
    (connected and ready): it runs ``prelude`` before the notebook's cells; after the
    notebook the kernel and its client stay."""

    prelude = Unicode("", help="code run on the kernel before the first cell, without a record")
    kept_client = Any(None, help="the kernel's client, its channels started")

    def start_new_kernel_client(self):  # what papermill's (synchronous) setup_kernel calls
        self.kc = self.kept_client
        self.kc.allow_stdin = False
        return self.kc

    def papermill_execute_cells(self):
        if self.prelude:
            reply = self.wait_for_reply(self.kc.execute(self.prelude, silent=True, store_history=False))
            raise_unless_ok(reply)
        super().papermill_execute_cells()


class WarmEngine(NBClientEngine):
    """papermill's nbclient engine, executing on the kernel manager given as ``km`` through
    its client ``kept_client``. The executed notebook is written once, when papermill
    completes it (also after a failure), not after every cell: the same record, without a
    rewrite per cell."""

    @classmethod
    def execute_managed_notebook(
        cls, nb_man, kernel_name, log_output=False, stdout_file=None, stderr_file=None, start_timeout=60, **kwargs
    ):
        kwargs.pop("input_path", None)
        output_path, nb_man.output_path = nb_man.output_path, None
        try:
            return _KeptKernelClient(
                nb_man,
                kernel_name=kernel_name,
                startup_timeout=start_timeout,
                log=logging.getLogger("papermill"),
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                **kwargs,
            ).execute()
        finally:
            nb_man.output_path = output_path  # papermill's notebook_complete writes it


papermill_engines.register(ENGINE, WarmEngine)
