"""The CLI's ``--server`` jobs: lock, advise, check and explain asked of a team server,
observations uploaded, a package's knowledge read, a sweep dispatched and followed.

Sits under the composition root (``advisor.api.remote``, which reads the process
environment, hands in the index client's Fetcher through :class:`Connect` and writes the
lock that comes back) and over :mod:`.client` (how a request goes), :mod:`.requests` (what
may be asked, the call built, an answer read back), :mod:`.sending` (which files go) and
:mod:`.sweep_client` (a sweep followed). The answers come back as the offline jobs' own
values (:mod:`advisor.options.outcomes`, :class:`~advisor.check.run.CheckReport`,
:class:`~advisor.knowledge.package_facts.PackageKnowledge`), so a caller cannot tell them
from the offline job's. Options only this machine can honour are refused before anything is
sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from advisor.events import SILENT
from advisor.server.client import AdvisorClient, ServerLink

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from contextlib import AbstractContextManager
    from pathlib import Path

    from advisor.check.run import CheckOptions, CheckReport
    from advisor.events import ProgressEvents
    from advisor.knowledge.package_facts import PackageKnowledge
    from advisor.knowledge.schema import Observation
    from advisor.models import RecommendationType
    from advisor.options.jobs import AdviseOptions, LockOptions
    from advisor.options.outcomes import AdviceResult, Explanation, LockOutcome
    from advisor.options.resolve import ResolveOptions
    from advisor.server.client import JsonPoster
    from advisor.server.sweep_calls import SweepCall

__all__ = ["JOB_RETRIES", "JOB_TIMEOUT", "Connect", "RemoteJobs"]

#: a job's POST gets one attempt more, no more: a retried POST would run a long job twice
JOB_RETRIES = 1
#: seconds a job's answer may take (the server's own ``--job-timeout`` ends it first)
JOB_TIMEOUT = 600.0


class Connect(Protocol):
    """Opens the network for one request: the composition root's Fetcher, with pip's TLS
    settings, trusted hosts and credentials; ``retries`` and ``timeout`` replace pip's when
    given."""

    def __call__(
        self, *, retries: int | None = None, timeout: float | None = None
    ) -> AbstractContextManager[JsonPoster]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoteJobs:
    """The offline jobs asked of the team server at ``server`` (a URL, maybe with the token
    in it; ``token`` wins) through ``connect``. Relative paths are relative to ``cwd``; each
    job's request is a step on ``events``. Cost: one request per job (a sweep: one, then
    one per poll); the server does the work."""

    server: str
    token: str | None = field(default=None, repr=False)
    connect: Connect
    cwd: Path
    events: ProgressEvents = SILENT

    def _client(self, poster: JsonPoster) -> AdvisorClient:
        return AdvisorClient(ServerLink.parse(self.server, token=self.token), poster)

    def _post(self, path: str, payload: object) -> dict[str, Any]:
        """``payload`` posted to ``path``, as a progress step (a server's lock takes seconds)."""
        import msgspec

        from advisor.urls import redact_url

        link = ServerLink.parse(self.server, token=self.token)
        step = f"asking {redact_url(link.url)}"
        self.events.working(step)
        try:
            with self.connect(retries=JOB_RETRIES, timeout=JOB_TIMEOUT) as poster:
                return AdvisorClient(link, poster).post(path, msgspec.to_builtins(payload))
        finally:
            self.events.work_finished(step)

    def lock(
        self, inputs: Sequence[Path], *, opts: ResolveOptions, out: LockOptions
    ) -> LockOutcome:
        """The lock job's outcome, made by the server; not written (its ``path`` says where
        the offline job would write it)."""
        from advisor.options.resolve import ResolveOptions
        from advisor.server.requests import lock_answer, lock_call, refuse_local_options

        refuse_local_options(opts, default=ResolveOptions())
        call, path = lock_call(inputs, opts=opts, out=out, cwd=self.cwd)
        return lock_answer(self._post("/v1/lock", call), path=path)

    def advise(
        self,
        inputs: Sequence[Path],
        *,
        opts: ResolveOptions,
        out: LockOptions,
        advice: AdviseOptions,
        recommendation: RecommendationType | str | None = None,
    ) -> AdviceResult:
        """The advise job's result, made by the server (``advice``: the search's bounds;
        the knowledge is the server's); its lock not written."""
        from advisor.options.jobs import AdviseOptions
        from advisor.options.resolve import ResolveOptions
        from advisor.server.requests import advice_answer, lock_call, refuse_local_options

        refuse_local_options(
            opts, default=ResolveOptions(), advice=advice, advice_default=AdviseOptions()
        )
        given = None if recommendation is None else str(recommendation)
        call, path = lock_call(
            inputs, opts=opts, out=out, cwd=self.cwd, search=advice, recommendation=given
        )
        return advice_answer(self._post("/v1/advise", call), path=path)

    def check(self, paths: Sequence[Path], *, opts: CheckOptions) -> CheckReport:
        """The check's report, against the server's advisories and rules; ``--osv``,
        ``--online``, ``--fix`` and ``--knowledge`` are refused (this machine's sources)."""
        from advisor.check.run import CheckReport
        from advisor.server.requests import check_call, refuse_local_check_options

        refuse_local_check_options(
            osv=opts.osv, online=opts.online, fix=opts.fix, knowledge=opts.knowledge
        )
        call = check_call(paths, inputs=opts.inputs, only=opts.only, cwd=self.cwd)
        return CheckReport.from_answer(self._post("/v1/check", call))

    def explain(self, lock_path: Path, name: str, *, advise: AdviseOptions) -> Explanation:
        """Why ``name`` is in the lock, from the server's index and knowledge (the lock
        travels with what its record names: :func:`~.requests.explain_call`)."""
        from advisor.options.jobs import AdviseOptions
        from advisor.options.outcomes import Explanation
        from advisor.options.resolve import ResolveOptions
        from advisor.server.requests import explain_call, refuse_local_options

        refuse_local_options(
            ResolveOptions(),
            default=ResolveOptions(),
            advice=advise,
            advice_default=AdviseOptions(),
        )
        call = explain_call(lock_path, name, cwd=self.cwd)
        return Explanation.from_answer(self._post("/v1/explain", call))

    def upload(self, observations: Sequence[Observation]) -> dict[str, Any]:
        """``observations`` sent to ``POST /v1/observations`` (a ``write`` token; ``admin``
        for advisories, rules and images); the server stamps them ``upload:<token name>``.
        Its answer: ``source``, ``received``, ``added``, ``replaced``, ``unchanged``."""
        import json

        from advisor.knowledge.schema import encode_observation

        body = {"observations": [json.loads(encode_observation(o)) for o in observations]}
        return self._post("/v1/observations", body)

    def show(
        self,
        name: str,
        version: str | None = None,
        *,
        source: str | None = None,
        recorder: str | None = None,
    ) -> PackageKnowledge:
        """``knowledge show``'s answer from the server's store (``GET /v1/packages/NAME``).
        Raises :class:`~advisor.errors.InputError` when the answer is not one."""
        import urllib.parse

        from advisor.errors import InputError
        from advisor.knowledge.package_facts import PackageKnowledge

        path = f"/v1/packages/{urllib.parse.quote(name, safe='')}"
        query = {"version": version, "source": source, "recorder": recorder}
        with self.connect() as poster:
            answer = self._client(poster).get(path, query)
        try:
            return PackageKnowledge.from_dict(answer)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"the server's answer is not a package's knowledge: {exc}") from exc

    def sweep(
        self,
        call: SweepCall,
        *,
        wait: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> dict[str, Any]:
        """``call`` posted to ``/v1/sweeps`` (a ``write`` token), then followed until its
        jobs are done, at most ``wait`` seconds (``clock``), a progress step on ``events``;
        the server's last answer. Raises the refusal's error,
        :class:`~.sweep_client.SweepNotDone` past ``wait``."""
        from advisor.server.sweep_client import SweepProgress, follow_sweep, submit_sweep

        # sent once: a retried POST whose first try reached the server would sweep twice
        with self.connect(retries=0) as poster:
            sent = submit_sweep(self._client(poster), call)
        progress = SweepProgress(self.events)
        try:
            with self.connect() as poster:  # reads: retried as pip would
                return follow_sweep(
                    self._client(poster),
                    str(sent["id"]),
                    wait=wait,
                    clock=clock,
                    sleep=sleep,
                    on_poll=progress.poll,
                )
        finally:
            progress.close()
