"""Signed exchange: a list export and its ``.sig`` verify with the exporting store's
public key and nothing else; a follower with ``--verify`` refuses a feed page changed on
the way (a tampering proxy on loopback) or signed by another key."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from conftest import init_store, jsonl, run_cli
from serving import serving


def _list(tmp_path, db: str) -> None:
    bank = tmp_path / "bank.csv"
    bank.write_text("md5,category\n" + "".join(f"{n:032x},A\n" for n in range(1, 6)))
    run_cli("lists", "import", str(bank), "--list", "national", "--db", db)


@pytest.mark.slow
def test_a_signed_export_verifies_and_a_changed_one_does_not(tmp_path):
    db = init_store(str(tmp_path / "store.db"))
    _list(tmp_path, db)
    public = run_cli("keys", "signing", "create", "--name", "unit-2026", "--db", db).stdout.strip()
    assert public.startswith("ed25519:")
    other = run_cli("keys", "signing", "create", "--name", "spare", "--db",
                    init_store(str(tmp_path / "other.db"))).stdout.strip()  # fmt: skip
    out = tmp_path / "national.csv"
    run_cli("lists", "export", "national", "--format", "csv", "-o", str(out), "--sign", "--db", db)
    run_cli("lists", "import", str(out), "--list", "copy", "--verify", public, "--db", db)
    assert len(jsonl(run_cli("lists", "show", "copy", "--json", "--db", db).stdout)) == 5

    def refused(*options: str) -> str:
        done = run_cli("lists", "import", str(out), "--list", "x", *options, "--db", db,
                       check=False)  # fmt: skip
        assert done.returncode == 2, done.stdout
        return done.stderr

    assert "signed by another key" in refused("--verify", other)
    out.write_text(out.read_text().replace(",A,", ",B,", 1))  # a regrade slipped in on the way
    assert "the data was changed" in refused("--verify", public)
    out.with_name("national.csv.sig").unlink()
    assert "no signature beside the file" in refused("--verify", public)
    assert "x" not in {
        r["name"] for r in jsonl(run_cli("lists", "ls", "--json", "--db", db).stdout)
    }


class _Tamperer:
    """A proxy that changes one grade in every page it passes on."""

    def __init__(self, target: str) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                answer = httpx.get(target + self.path, headers=dict(self.headers))
                body = answer.content.replace(b'"category":"A"', b'"category":"C"', 1)
                self.send_response(answer.status_code)
                for name in ("content-type", "x-safeguard-signature"):
                    if name in answer.headers:
                        self.send_header(name, answer.headers[name])
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.slow
def test_a_follower_refuses_pages_changed_on_the_way(tmp_path):
    source = init_store(str(tmp_path / "source.db"))
    _list(tmp_path, source)
    public = run_cli("keys", "signing", "create", "--name", "k", "--db", source).stdout.strip()
    key = run_cli("keys", "create", "--name", "p", "--scope", "lists:read", "--db", source).stdout
    key_file = tmp_path / "key"
    key_file.write_text(key.strip())
    follower = init_store(str(tmp_path / "follower.db"))
    with serving(source) as base:
        tamperer = _Tamperer(base)
        try:

            def follow(url: str, *options: str):
                return run_cli("lists", "follow", f"{url}/v1/lists/national", "--list", "mirror",
                               "--key-file", str(key_file), *options, "--db", follower,
                               check=False)  # fmt: skip

            changed = follow(tamperer.base, "--verify", public)
            assert changed.returncode == 2 and "the data was changed" in changed.stderr
            assert run_cli("lists", "ls", "--json", "--db", follower).stdout == ""  # nothing kept
            wrong = follow(base, "--verify", "ed25519:" + "A" * 43 + "=")
            assert wrong.returncode == 2 and "is not signed by" in wrong.stderr
            done = follow(base, "--verify", public)
            assert done.returncode == 0 and "5 added or changed" in done.stdout
        finally:
            tamperer.close()
