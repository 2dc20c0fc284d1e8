"""Scans on a Dask cluster (``--cluster``): the same records and report as on one machine.

Real components throughout: a Dask ``LocalCluster`` of worker processes (each
reads the evidence itself), the PostgreSQL server, disk images built with
dosfstools and mtools, and the shared E01. Workers are killed with SIGKILL mid-shard
and the client with SIGKILL mid-scan; each time the finished exhibit must hold
every item exactly once, numbered and matched as a single-machine scan numbers and
matches it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from conftest import (
    default_sigint,
    free_port,
    import_list,
    jsonl,
    require_shared,
    run_cli,
    wait_for,
)
from disk_builders import fat_camera_card, require_tools, run

pytestmark = pytest.mark.slow

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster_client():
    """Two worker processes, one thread each, restarted by their nannies when killed."""
    import logging

    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as connected,
    ):  # fmt: skip
        yield connected


@pytest.fixture
def client(cluster_client):
    """The module's cluster with both workers up (a test may have killed one: its nanny
    starts another, which takes a second or two)."""
    cluster_client.wait_for_workers(2, timeout=60)
    return cluster_client


def _folder(root: Path, corpus: Path, photos: int = 40) -> Path:
    """Photos, a copy, a zip of three more, a damaged JPEG, an empty file, a subfolder."""
    files = _photos(corpus)[: photos + 3]
    exhibit = root / "exhibit"
    (exhibit / "DCIM" / "sub").mkdir(parents=True)
    for index, photo in enumerate(files[:photos]):
        where = exhibit / "DCIM" / ("sub" if index % 3 == 0 else "") / photo.name
        shutil.copy(photo, where)
    shutil.copy(files[0], exhibit / "copy-of-first.jpg")
    with zipfile.ZipFile(exhibit / "holiday.zip", "w") as archive:
        for photo in files[photos:]:
            archive.write(photo, f"album/{photo.name}")
    (exhibit / "damaged.jpg").write_bytes(files[1].read_bytes()[:3000])
    (exhibit / "empty.txt").write_bytes(b"")
    return exhibit


def _photos(corpus: Path) -> list[Path]:
    return sorted(corpus.glob("*/*/*.jpg"))  # BSDS500 and COCO: small photos


def _lists(db: str, root: Path, corpus: Path) -> None:
    """Category A by MD5 (a photo and a zip member), category B by PDQ (another photo)."""
    files = _photos(corpus)
    md5s = [hashlib.md5(files[i].read_bytes()).hexdigest() for i in (0, 41)]
    (root / "a.txt").write_text("\n".join(md5s) + "\n")
    pdq = jsonl(run_cli("hash", str(files[5])).stdout)[0]["pdq"]
    (root / "b.txt").write_text(pdq + "\n")
    import_list(db, root / "a.txt", "grade-a", "--category", "A")
    import_list(db, root / "b.txt", "grade-b", "--signal", "pdq", "--category", "B")


def _records(store, case: str, exhibit: str) -> list[tuple]:
    """Everything a report is made of, per item, without the exhibit's own name."""
    from safeguard.store.cases import Cases
    from safeguard.store.items import ExhibitItems

    found = Cases(store).exhibit(case, exhibit)
    return [
        (
            item.seq, item.locator.split(" / ", 1)[1], item.allocation, item.size, item.type,
            item.md5, item.sha256, item.pdq, item.pdq_quality, item.pdq_dihedral,
            tuple(item.errors), tuple(sorted(map(repr, item.matches))), item.thumbnail,
        )
        for item in ExhibitItems(store).items(found.id)
    ]  # fmt: skip


def _listing(source: Path) -> list:
    from safeguard.sources.exhibit import open_exhibit
    from safeguard.triage.shards import walk_entries

    return walk_entries(open_exhibit(source, "x"))


def _summary(store, case: str, exhibit: str) -> dict:
    from safeguard.triage.report import case_report

    summary = case_report(store, case, exhibit).document["exhibits"][0]
    for varying in ("exhibit", "started_at", "finished_at", "matched_at"):
        summary.pop(varying, None)
    text = json.dumps(summary).replace(f'"{exhibit}"', '"EXHIBIT"')
    return json.loads(text.replace(f'"{exhibit} / ', '"EXHIBIT / '))


def _single_and_cluster(store, client, source: Path, **cluster_options):
    from safeguard.triage.cluster import scan_on_cluster
    from safeguard.triage.scan import scan_exhibit

    scan_exhibit(store, source, "OP-1", "single", workers=2)
    outcome = scan_on_cluster(store, client, source, "OP-1", "cluster", **cluster_options)
    return outcome


def test_a_folder_on_the_cluster_is_recorded_as_on_one_machine(
    client, postgres_store_url, tmp_path, corpus, monkeypatch
):
    """Shards cut small, a zip read in shares of one member each."""
    from safeguard.store import Store
    from safeguard.triage import shards

    monkeypatch.setattr(shards, "SHARD_BYTES", 200 << 10)
    monkeypatch.setattr(shards, "ARCHIVE_MEMBERS", 1)
    exhibit = _folder(tmp_path, corpus)
    _lists(postgres_store_url, tmp_path, corpus)
    store = Store.open(postgres_store_url)
    outcome = _single_and_cluster(store, client, exhibit, files_per_shard=4)

    assert outcome.shards >= 10  # the folder really was spread over the workers
    listed = list(shards.plan_shards(_listing(exhibit), exhibit, "x", 4))
    assert [s.members for s in listed if s.members] == [(0, 1), (1, 2), (2, None)]
    single, clustered = _records(store, "OP-1", "single"), _records(store, "OP-1", "cluster")
    assert len(single) == 40 + 7  # photos; copy, 3 members + zip, damaged, empty
    assert clustered == single
    assert _summary(store, "OP-1", "cluster") == _summary(store, "OP-1", "single")
    summary = _summary(store, "OP-1", "cluster")
    assert summary["status"] == "complete"
    assert {key: value["files"] for key, value in summary["categories"].items()} == {
        "A": 3,
        "B": 1,
    }  # fmt: skip  (photo 0 and its copy, the zip member; photo 5 by PDQ)


def test_a_disk_image_on_the_cluster_is_recorded_as_on_one_machine(
    client, postgres_store_url, tmp_path, monkeypatch
):
    """Deleted files, an orphan, a folder TSK lists as deleted, and the free space carved
    in ranges cut small, so that carving too is spread over the workers."""
    from safeguard.store import Store
    from safeguard.triage import shards

    image = fat_camera_card(tmp_path / "card.img")
    monkeypatch.setattr(shards, "CARVE_BYTES", 1 << 20)
    monkeypatch.setattr(shards, "_CARVE_ALIGN", 64 << 10)
    store = Store.open(postgres_store_url)
    outcome = _single_and_cluster(store, client, image, files_per_shard=2)

    assert outcome.shards >= 16  # 16 MiB of free space in 1 MiB ranges, and the files
    single = _records(store, "OP-1", "single")
    assert any(record[2] == "deleted" for record in single)
    assert _records(store, "OP-1", "cluster") == single
    assert _summary(store, "OP-1", "cluster") == _summary(store, "OP-1", "single")


def test_an_e01_is_verified_and_recorded_as_on_one_machine(client, postgres_store_url):
    from safeguard.store import Store
    from safeguard.store.cases import Cases

    image = require_shared("forensic-images", "synthetic", "mbr-fat16-synthetic.E01")
    store = Store.open(postgres_store_url)
    _single_and_cluster(store, client, image)

    assert _records(store, "OP-1", "cluster") == _records(store, "OP-1", "single")
    cases = Cases(store)
    assert cases.exhibit("OP-1", "cluster").verification["verified"] is True
    assert _summary(store, "OP-1", "cluster") == _summary(store, "OP-1", "single")


def _fat32(folder: Path, image: Path) -> Path:
    """A FAT32 image holding the folder's tree (dosfstools and mtools)."""
    require_tools("mkfs.fat", "mcopy")
    run("mkfs.fat", "-C", "-F", "32", image, str(64 * 1024))
    run("mcopy", "-s", "-m", "-i", image, *sorted(folder.iterdir()), "::/")
    return image


@pytest.mark.parametrize("kind", ["folder", "FAT32 image"])
def test_a_worker_killed_mid_shard_loses_and_repeats_nothing(
    client, postgres_store_url, tmp_path, corpus, kind
):
    from safeguard.store import Store
    from safeguard.triage.cluster import scan_on_cluster
    from safeguard.triage.scan import scan_exhibit

    exhibit = _folder(tmp_path, corpus, photos=120)
    if kind != "folder":
        exhibit = _fat32(exhibit, tmp_path / "card.img")
    store = Store.open(postgres_store_url)
    scan_exhibit(store, exhibit, "OP-1", "single", workers=2)
    pids_before = client.run(os.getpid)
    failure: list[BaseException] = []

    def scan() -> None:
        try:
            scan_on_cluster(store, client, exhibit, "OP-1", "cluster", files_per_shard=3)
        except BaseException as error:  # reported by the test's thread below
            failure.append(error)

    running = threading.Thread(target=scan)
    running.start()
    # A worker with a shard in hand, killed as the kernel's OOM killer would.
    busy = wait_for(
        lambda: next((w for w, keys in client.processing().items() if keys), None), timeout=60
    )
    os.kill(pids_before[busy], signal.SIGKILL)
    running.join(timeout=300)

    assert not failure, failure
    assert not psutil_alive(pids_before[busy])
    assert set(client.run(os.getpid).values()) != set(pids_before.values())  # a new worker
    single, clustered = _records(store, "OP-1", "single"), _records(store, "OP-1", "cluster")
    assert len([s for s in single if s[2] != "carved"]) == 120 + 7
    assert clustered == single


def psutil_alive(pid: int) -> bool:
    import psutil

    return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "Ctrl-C"])
def test_a_stopped_client_resumes_where_it_stopped(postgres_store_url, tmp_path, corpus, stop):
    """The whole client (with its local cluster) SIGKILLed, or sent a terminal's Ctrl-C
    (SIGINT to its process group, local workers included), mid-scan; the same command
    finishes the exhibit, every item once, numbered as an uninterrupted scan numbers them."""
    from safeguard.store import Store
    from safeguard.store.cases import Cases
    from safeguard.store.items import ExhibitItems
    from safeguard.triage.scan import scan_exhibit

    exhibit = _folder(tmp_path, corpus, photos=600)  # ten shards: more than are in flight
    db = postgres_store_url
    run_cli("init", "--db", db)
    store = Store.open(db)
    scan_exhibit(store, exhibit, "OP-1", "single", workers=2)
    command = [
        sys.executable, "-m", "safeguard", "scan", str(exhibit), "--case", "OP-1",
        "--exhibit", "cluster", "--cluster", "local:2", "--db", db,
    ]  # fmt: skip
    first = subprocess.Popen(command, start_new_session=True, stderr=subprocess.PIPE, text=True,
                             preexec_fn=default_sigint)  # fmt: skip

    def saved() -> int:
        found = Cases(store).exhibits("OP-1", "cluster")
        return ExhibitItems(store).item_count(found[0].id) if found else 0

    wait_for(lambda: saved() > 0, timeout=120)
    os.killpg(first.pid, stop)
    _, stderr = first.communicate(timeout=120)
    if stop == signal.SIGINT:  # stopped between items; no worker died printing a traceback
        assert first.returncode == 130, stderr
        assert "interrupted:" in stderr and "Traceback" not in stderr
    partly = saved()
    assert 0 < partly < 600
    assert Cases(store).exhibit("OP-1", "cluster").state == "incomplete"

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming cluster" in resumed.stderr
    assert _records(store, "OP-1", "cluster") == _records(store, "OP-1", "single")


def test_a_cluster_scan_needs_a_shared_store_and_evidence_every_worker_sees(
    client, tmp_path, postgres_store_url
):
    from safeguard.errors import UsageError
    from safeguard.triage.cluster import check_evidence

    db = str(tmp_path / "store.db")
    run_cli("init", "--db", db)
    refused = run_cli(
        "scan", str(tmp_path), "--case", "C", "--exhibit", "E", "--cluster", "local:1",
        "--db", db, check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "--cluster needs a PostgreSQL store" in refused.stderr
    run_cli("init", "--db", postgres_store_url)
    bad = run_cli(
        "scan", str(tmp_path), "--case", "C", "--exhibit", "E", "--cluster", "local:0",
        "--db", postgres_store_url, check=False,
    )  # fmt: skip
    assert bad.returncode != 0 and "local:N" in bad.stderr

    with pytest.raises(UsageError) as blind:
        check_evidence(client, tmp_path / "not-mounted-here")
    for worker in client.nthreads():
        assert worker in str(blind.value)  # each worker that cannot see it, by address
    assert "No such file or directory" in str(blind.value)


def test_scan_batch_resumes_each_exhibit_and_skips_what_is_done(
    postgres_store_url, tmp_path, corpus
):
    db = postgres_store_url
    folder = _folder(tmp_path, corpus, photos=300)
    card = fat_camera_card(tmp_path / "card.img")
    run_cli("init", "--db", db)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "case,exhibit,source\n"
        f"OP-7,laptop,{folder.name}\n"  # relative to the manifest's folder
        f"OP-7,card,{card}\nOP-8,phone,{folder}\n"
    )
    command = [sys.executable, "-m", "safeguard", "scan-batch", str(manifest), "--cluster",
               "local:2", "--json", "--db", db]  # fmt: skip
    killed = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
    wait_for(lambda: _saved(db) > 0, timeout=120)
    os.killpg(killed.pid, signal.SIGKILL)  # the batch stopped part-way, as a power cut would
    killed.wait()
    assert _saved(db) < 2 * (300 + 7)  # not all of it
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    summaries = {s["exhibit"]: s for s in jsonl(done.stdout)}
    assert set(summaries) == {"laptop", "card", "phone"}
    assert all(s["status"] == "complete" for s in summaries.values())
    assert summaries["laptop"]["files"] == summaries["phone"]["files"] == 300 + 7
    single = json.loads(
        run_cli("scan", str(card), "--case", "OP-9", "--exhibit", "card", "--json", "--db", db)
        .stdout
    )  # fmt: skip
    varying = ("case", "exhibit", "started_at", "finished_at", "matched_at")
    assert {k: v for k, v in summaries["card"].items() if k not in varying} == {
        k: v for k, v in single.items() if k not in varying
    }

    again = run_cli("scan-batch", str(manifest), "--cluster", "local:1", "--db", db)
    assert again.stderr.count("already complete, skipped") == 3


def _saved(db: str) -> int:
    """Items saved so far, all exhibits together."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(db.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        count = connection.execute(sqlalchemy.text("SELECT count(*) FROM items")).scalar_one()
    engine.dispose()
    return count


def test_a_bad_manifest_is_refused_before_anything_is_scanned(tmp_path):
    db = str(tmp_path / "store.db")
    run_cli("init", "--db", db)
    manifest = tmp_path / "manifest.csv"
    for text, said in (
        ("case,exhibit\nC,E\n", "no column source"),
        (f"case,exhibit,source\nC,E,{tmp_path}\nC,E,{tmp_path}\n", "line 3: exhibit E of C twice"),
        ("case,exhibit,source\nC,E,nowhere\n", "line 2:"),
    ):
        manifest.write_text(text)
        refused = run_cli("scan-batch", str(manifest), "--db", db, check=False)
        assert refused.returncode != 0 and said in refused.stderr, refused.stderr


def test_a_scheduler_over_tcp_refuses_a_worker_that_cannot_see_the_evidence(
    postgres_store_url, tmp_path, corpus
):
    """``dask scheduler`` and ``dask worker`` processes, as a unit would run them on several
    hosts; one worker runs as another user (``nobody``) that cannot enter the folder."""
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to run a worker as another user")
    from safeguard.store import Store
    from safeguard.triage.scan import scan_exhibit

    exhibit = _folder(tmp_path / "private", corpus, photos=20)
    os.chmod(tmp_path / "private", 0o700)
    db = postgres_store_url
    run_cli("init", "--db", db)
    scan_exhibit(Store.open(db), exhibit, "OP-1", "single", workers=2)
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = Path(sys.executable).with_name("dask")
    started = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--dashboard-address", ":0"],
            stderr=subprocess.DEVNULL,
        )
    ]  # fmt: skip
    worker = [dask, "worker", address, "--nthreads", "1", "--no-nanny"]
    scratch = {**os.environ, "DASK_TEMPORARY_DIRECTORY": "/tmp", "HOME": "/tmp"}
    try:
        started += [subprocess.Popen([*worker, "--name", f"seeing-{n}"], stderr=subprocess.DEVNULL)
                    for n in range(2)]  # fmt: skip
        blind = subprocess.Popen(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *worker,
             "--name", "blind"],
            stderr=subprocess.DEVNULL, env=scratch,
        )  # fmt: skip
        started.append(blind)
        with distributed.Client(address, timeout=30) as watching:
            wait_for(lambda: len(watching.nthreads()) == 3, timeout=60)
            blind_address = next(
                w for w, info in watching.scheduler_info()["workers"].items()
                if info["name"] == "blind"
            )  # fmt: skip
            command = ("scan", str(exhibit), "--case", "OP-1", "--exhibit", "cluster",
                       "--cluster", address, "--db", db)  # fmt: skip
            refused = run_cli(*command, check=False)
            assert refused.returncode != 0
            assert blind_address in refused.stderr and "Permission denied" in refused.stderr
            assert "every worker must see it at the same path" in refused.stderr

            blind.kill()
            wait_for(lambda: len(watching.nthreads()) == 2, timeout=60)
            done = run_cli(*command)
            assert "cluster tcp://127.0.0.1" in done.stderr
        store = Store.open(db)
        assert _records(store, "OP-1", "cluster") == _records(store, "OP-1", "single")
    finally:
        for process in started:
            process.kill()
            process.wait()


class _PoisonedReading(distributed.WorkerPlugin):
    """A Dask worker plugin: the worker process dies (as under a crashing decoder) whenever
    it is handed a shard holding ``poison.jpg``."""

    name = "poisoned-reading"

    def setup(self, worker) -> None:
        from safeguard.triage import shards

        honest = shards.read_shard

        def read_shard(shard, options):
            _, entries = shards._listing(shard)
            if any("poison" in str(e.locator) for e in entries[shard.first : shard.last]):
                os._exit(3)
            return honest(shard, options)

        shards.read_shard = read_shard


def test_an_entry_that_kills_every_worker_is_recorded_as_not_read(
    postgres_store_url, tmp_path, corpus
):
    import cloudpickle
    import dask

    from safeguard.store import Store
    from safeguard.triage.cluster import scan_on_cluster
    from safeguard.triage.scan import scan_exhibit

    exhibit = _folder(tmp_path, corpus, photos=12)
    shutil.copy(_photos(corpus)[100], exhibit / "DCIM" / "poison.jpg")
    store = Store.open(postgres_store_url)
    scan_exhibit(store, exhibit, "OP-1", "single", workers=2)
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 1}),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as poisoned,
    ):
        cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import it
        poisoned.register_plugin(_PoisonedReading())
        scan_on_cluster(store, poisoned, exhibit, "OP-1", "cluster", files_per_shard=4)

    single, clustered = _records(store, "OP-1", "single"), _records(store, "OP-1", "cluster")
    assert len(clustered) == len(single)
    lost = [c for c in clustered if c[1] == "DCIM/poison.jpg"]
    assert lost and lost[0][10] == (
        "worker process died while reading this item, on 6 workers: not read",
    )
    assert lost[0][6] is None  # nothing of it was hashed
    assert [c for c in clustered if c not in lost] == [s for s in single if s[1] != lost[0][1]]


def test_local_clusters_start_workers_without_dasks_fixed_malloc_trim(client):
    """Dask's nannies give workers MALLOC_TRIM_THRESHOLD_=65536 by default, which made
    hashing 45 % slower; `local:N` starts them without it, and a cluster that has it is named."""
    from safeguard.triage.cluster import cluster_client, slowed_workers

    assert sorted(slowed_workers(client)) == sorted(client.nthreads())  # Dask's default
    with cluster_client("local:1") as local:
        assert slowed_workers(local) == []
