"""Scanning an exhibit on a Dask cluster: ``--cluster tcp://HOST:8786`` or ``local:N``.

The client lists the exhibit (metadata only), cuts the walk into shards
(:mod:`.shards`) and hands them to the cluster's workers, a few more than there
are worker threads at a time. Each worker reads its shard from the evidence
itself (every worker must see the source at the same path: checked first) and
sends back records. The client takes the results in walk order, whatever order
the workers finish in, names, numbers, matches and saves them exactly as a
single-machine scan does, so the two give the same report.

Exactly once: a shard's task only reads and returns; nothing is written but by
the client, in walk order, keyed by locator. A worker that dies mid-shard has its
shard run again by the scheduler on another; a shard that keeps killing workers is
read one entry at a time, and the entry that kills a worker on its own becomes an
error record. A killed client leaves a prefix of the walk saved: the same command
carries on after it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from safeguard.errors import UsageError
from safeguard.sources.base import Item, Level, Locator, Problem, Step, UniqueNames
from safeguard.sources.exhibit import open_exhibit
from safeguard.store.cases import COMPLETE, Cases
from safeguard.store.items import ExhibitItems, ItemRecord
from safeguard.store.lists import Store
from safeguard.triage.recording import Job, Recorder
from safeguard.triage.scan import ScanOptions, finish, new_record, scan_matcher
from safeguard.triage.shards import (
    SHARD_FILES,
    LeaveInterruptsToTheClient,
    Shard,
    ShardResult,
    evidence_visible,
    plan_shards,
    read_shard,
    walk_entries,
    warm_up,
)

LOCAL_PREFIX = "local:"
TRIM_VARIABLE = "MALLOC_TRIM_THRESHOLD_"
TRIM_SETTING = f"distributed.nanny.pre-spawn-environ.{TRIM_VARIABLE}"
BLAME_AFTER = 3
KILLED = "worker process died while reading this item, on {tries} workers: not read"


@contextlib.contextmanager
def cluster_client(address: str):
    """A Dask client: of the scheduler at ``address``, or of a local cluster (``local:N``)."""
    import dask
    from distributed import Client, LocalCluster

    if address.startswith(LOCAL_PREFIX):
        count = address[len(LOCAL_PREFIX) :]
        if not count.isdigit() or int(count) < 1:
            raise UsageError(f"--cluster {address}: give local:N with N worker processes, N >= 1")
        # Workers inherit this process's environment; another cluster started from it may
        # have left the variable there (nannies set it in their parent).
        os.environ.pop(TRIM_VARIABLE, None)
        with (
            dask.config.set({TRIM_SETTING: None}),
            LocalCluster(
                n_workers=int(count),
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: several scans may run side by side
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            client.register_plugin(LeaveInterruptsToTheClient())
            yield client
        return
    try:
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise UsageError(
            f"--cluster {address}: no Dask scheduler answers there ({error})"
        ) from None
    with client:
        yield client


def slowed_workers(client) -> list[str]:
    """Workers started with a fixed glibc trim threshold: Dask's nannies set one by default
    (``MALLOC_TRIM_THRESHOLD_=65536``), which turns off glibc's adaptive mmap threshold, so
    every decoded picture's buffers are mapped and unmapped afresh: hashing measured 45 %
    slower. Local clusters are started without it; a cluster's operator can do the same."""
    found = client.run(os.environ.get, TRIM_VARIABLE)
    return sorted(worker for worker, value in found.items() if value is not None)


def dashboard_link(client) -> str | None:
    """The Dask dashboard's address, when the scheduler serves one. It needs Bokeh where
    the scheduler runs; without it the address only says so, and is not shown."""
    import httpx

    if "dashboard" not in client.scheduler_info().get("services", {}):
        return None
    link = client.dashboard_link
    try:
        page = httpx.get(link, timeout=2.0, follow_redirects=True)
    except httpx.HTTPError:
        return None
    return link if page.status_code == 200 and "needs bokeh" not in page.text else None


def require_shared_store(store: Store) -> None:
    if store.engine.dialect.name != "postgresql":
        raise UsageError(
            "--cluster needs a PostgreSQL store that every scan can reach "
            f"(--db postgresql://...), not {store.location}: a SQLite file is for one machine"
        )


def check_evidence(client, source: Path) -> int:
    """Every worker can read the source where the client does; returns the worker threads."""
    seen = client.run(evidence_visible, str(source.resolve()))
    if not seen:
        raise UsageError("the cluster has no workers")
    blind = {worker: why for worker, why in seen.items() if why is not None}
    if blind:
        named = "; ".join(f"{worker}: {why}" for worker, why in sorted(blind.items()))
        raise UsageError(
            f"the evidence at {source.resolve()} cannot be read from every worker ({named}): "
            "every worker must see it at the same path (shared evidence storage)"
        )
    return sum(client.nthreads().values())


@dataclass(slots=True)
class ClusterScan:
    """What a cluster scan did, for the examiner and for the benchmark."""

    exhibit_id: int
    shards: int = 0
    saving_seconds: float = 0.0  # writing to the store


def scan_on_cluster(
    store: Store,
    client,
    source: Path,
    case: str,
    exhibit: str,
    *,
    options: ScanOptions | None = None,
    on_item: Callable[[ItemRecord], None] | None = None,
    examiner: str | None = None,
    files_per_shard: int = SHARD_FILES,
) -> ClusterScan:
    """Scan (or finish scanning) one exhibit on the cluster behind ``client``."""
    from distributed import fire_and_forget

    require_shared_store(store)
    options = options or ScanOptions()
    threads = check_evidence(client, source)
    for worker in client.nthreads():
        fire_and_forget(client.submit(warm_up, options, workers=[worker], pure=False))
    state = Cases(store).start_exhibit(
        case, exhibit, str(source.resolve()), options.to_json(), examiner=examiner
    )
    outcome = ClusterScan(state.id)
    if state.status == COMPLETE:
        return outcome
    opened = open_exhibit(source, exhibit)
    entries = walk_entries(opened)
    # The image's stored hash is checked beside the scan, here: a single stream of reads
    # that no worker could share out.
    verifying = _Verification(opened)
    stored = ExhibitItems(store)
    done = stored.done_locators(state.id)
    found: list[Problem] = []  # what the workers found wrong beyond single items
    recorder = Recorder(
        store, state.id, scan_matcher(store, options), lambda: [*opened.problems, *found], on_item
    )
    numbering = _Numbering(done, stored.next_seq(state.id))
    shards = [
        shard
        for shard in plan_shards(entries, source.resolve(), exhibit, files_per_shard)
        if shard.regions is not None or not done.issuperset(shard.top_level)
    ]
    outcome.shards = len(shards)
    results = _in_order(client, shards, options, entries, window=2 * threads + 2)
    with contextlib.closing(results), recorder.saved_on_interrupt():
        for shard, result in results:
            found.extend(p for p in result.problems if p not in found)
            if result.archives_spent and not any(p.message.startswith("archives:") for p in found):
                found.append(Problem(Level.ERROR, f"archives: {result.archives_spent}"))
            recorder.add(numbering.number(shard, result))
    recorder.flush()
    verification = verifying.result()  # its problems join the exhibit's, as on one machine
    finish(store, state.id, verification, [*opened.problems, *found])
    outcome.saving_seconds = recorder.saving_seconds
    return outcome


class _Verification(threading.Thread):
    """The exhibit's stored hash (an E01's MD5) checked against its media, in a thread."""

    def __init__(self, opened) -> None:
        super().__init__(daemon=True)
        self.opened = opened
        self.verification: dict | None = None
        self.start()

    def run(self) -> None:
        try:
            self.verification = self.opened.verify()
        except Exception as error:  # the scan goes on; the exhibit says what was not shown
            self.opened.problems.append(
                Problem(Level.ERROR, f"the image's stored hash could not be checked: {error}")
            )

    def result(self) -> dict | None:
        self.join()
        return self.verification


class _Numbering:
    """Names, skips and numbers results as a single-machine scan's walk does."""

    def __init__(self, done: set[str], seq: int) -> None:
        self.done = done
        self.seq = seq
        self.names = UniqueNames()
        self.carved_until: dict[str, int] = {}  # per volume: where its last carved picture ends

    def number(self, shard: Shard, result: ShardResult) -> list[Job]:
        dropped = self._carved_again(shard, result)
        numbered = []
        for job in result.jobs:
            record = job.record
            if any(record.steps[: len(steps)] == steps for steps in dropped):
                continue
            key = self.names.claim(record.locator)
            if key != record.locator:
                _rename(record, key)
            if key in self.done:
                continue
            record.seq = self.seq
            self.seq += 1
            numbered.append(job)
        return numbered

    def _carved_again(self, shard: Shard, result: ShardResult) -> list[list[dict]]:
        """Carved items inside a picture an earlier range carved (it ran over the cut)."""
        if not result.carved:
            return []
        steps = {job.record.locator: job.record.steps for job in result.jobs}
        volume = shard.first_locator
        until = self.carved_until.get(volume, 0)
        dropped = []
        for locator, start, end in result.carved:
            if start < until:
                dropped.append(steps[locator])
            else:
                until = max(until, end)
        self.carved_until[volume] = until
        return dropped


def _rename(record: ItemRecord, key: str) -> None:
    locator = Locator(tuple(Step(step["kind"], step["name"]) for step in record.steps))
    renamed = locator.renamed(locator.name + key[len(record.locator) :])
    record.locator, record.steps = str(renamed), renamed.to_json()


def _in_order(
    client, shards: list[Shard], options: ScanOptions, entries: list, *, window: int
) -> Iterator[tuple[Shard, ShardResult]]:
    """The shards' results in walk order, ``window`` shards in flight at a time."""
    from distributed import KilledWorker

    token = uuid.uuid4().hex[:8]
    pending: deque = deque()
    queue = iter(enumerate(shards))
    try:
        while True:
            while len(pending) < window and (next_shard := next(queue, None)) is not None:
                index, shard = next_shard
                key = f"safeguard-shard-{shard.exhibit}-{index}-{token}"
                future = client.submit(read_shard, shard, options, key=key, pure=False)
                pending.append((shard, future))
            if not pending:
                return
            shard, future = pending.popleft()
            try:
                result = future.result()
            except KilledWorker:
                result = _one_at_a_time(client, shard, options, entries)
            future.release()
            yield shard, result
    finally:
        for _, future in pending:
            future.cancel()


def _one_at_a_time(client, shard: Shard, options: ScanOptions, entries: list) -> ShardResult:
    """A shard that killed every worker it was given, read entry by entry to find the culprit.

    The scheduler counts a death against every task the dying worker held, so an innocent
    shard queued beside a hostile one can be failed too: a single entry (or a range of free
    space, or a share of a zip) is blamed only after failing :data:`BLAME_AFTER` times.
    """
    from distributed import KilledWorker

    if shard.regions is None and shard.members is None and shard.last - shard.first > 1:
        merged = ShardResult([])
        for index in range(shard.first, shard.last):
            alone = replace(
                shard, first=index, last=index + 1, first_locator=str(entries[index].locator),
                top_level=(str(entries[index].locator),),
            )  # fmt: skip
            part = _one_at_a_time(client, alone, options, entries)
            merged.jobs.extend(part.jobs)
            merged.problems.extend(part.problems)
            merged.archives_spent = merged.archives_spent or part.archives_spent
        return merged
    for _attempt in range(BLAME_AFTER):
        try:
            return client.submit(read_shard, shard, options, pure=False).result()
        except KilledWorker:
            continue
    tries = BLAME_AFTER * (int(client.run_on_scheduler(_allowed_failures)) + 1)
    if shard.regions is None and shard.members is None:
        return ShardResult([_killed(entries[shard.first], tries)])
    problem = Problem(
        Level.ERROR, f"{shard.describe()}: not read: it killed {tries} workers in turn"
    )
    result = ShardResult([], problems=[problem])
    if shard.members is not None and shard.members[1] is None:  # the zip's own record
        result.jobs.append(_killed(entries[shard.first], tries))
    return result


def _killed(item: Item, tries: int) -> Job:
    """The record of an item no worker survived reading."""
    record = new_record(item, 0)  # its own copy of the item's errors
    record.errors.append(KILLED.format(tries=tries))
    return Job(record, None)


def _allowed_failures(dask_scheduler) -> int:
    return dask_scheduler.allowed_failures
