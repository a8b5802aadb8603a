"""The web console (GET /ui/) in a real browser against a live `nudge serve` on synthetic data:
Debian's headless Chromium driven through the DevTools protocol (scripts/cdp.py). Every page
loads with no console error or uncaught exception, shows the values the JSON API gives, the
Users page posts an event (a real POST /v1/events) and shows the next answer change, and
hostile IDs (markup, quotes) are shown as text, never run. Also checked over plain HTTP: the
access rules (an API key guards the console; ui = off turns it off).

    python3 tests/serve/console_browser_test.py NUDGE_BINARY
Prints the page weight and each page's time to ready (for docs/console.md).
"""
import contextlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from cdp import Browser  # noqa: E402

NUDGE = sys.argv[1]
HOSTILE_USER = "<script>alert(1)</script>\"'&amp;"
HOSTILE_ITEM = "<img src=x onerror=alert(2)>"
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def run(*args):
    subprocess.run([NUDGE, "-q", *args], check=True, stdout=subprocess.DEVNULL)


def request(port, method, path, body=None, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def get_json(port, path):
    status, data = request(port, "GET", path)
    assert status == 200, (path, status, data[:300])
    return json.loads(data)


@contextlib.contextmanager
def serving(workdir, name, *flags):
    """`nudge serve` on a free port with its data in workdir/name: yields the port, stops it after."""
    port_file = os.path.join(workdir, name + ".port")
    log = os.path.join(workdir, name + ".log")
    proc = subprocess.Popen([NUDGE, "-q", "serve", "-d", os.path.join(workdir, name), "--port", "0",
                             "--port-file", port_file, "--threads", "2", *flags],
                            stdout=subprocess.DEVNULL, stderr=open(log, "w"))
    try:
        for _ in range(1200):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            if proc.poll() is not None:
                raise RuntimeError(open(log).read())
            time.sleep(0.05)
        else:
            raise RuntimeError(f"{name} did not start")
        yield int(open(port_file).read())
    finally:
        proc.terminate()
        proc.wait(timeout=30)


visits = [0]


def page_ready(b, url):
    # The page's two addresses in turn: a whole new load each time (a #fragment change alone
    # would leave the last page's ready flag standing).
    visits[0] += 1
    base, _, fragment = url.partition("#")
    b.navigate(f"{base}{'index.html' if visits[0] % 2 else ''}#{fragment}")
    b.wait_for("document.getElementById('page').dataset.ready === '1'")
    return b.eval("document.getElementById('page').dataset.page")


def text_of(b, selector):
    return b.eval(f"(document.querySelector({json.dumps(selector)}) || {{}}).textContent")


def main():
    work = tempfile.mkdtemp(prefix="nudge-console-")
    run("synth", "-o", os.path.join(work, "syn"), "--users", "300", "--items", "150", "--interactions", "6000",
        "--topics", "5", "--seed", "3")
    data = os.path.join(work, "main")
    os.makedirs(os.path.join(data, "evaluation"))
    run("replay", "-i", os.path.join(work, "syn", "interactions.csv"), "-m", "ials:factors=8,threads=1",
        "--json", os.path.join(data, "evaluation", "replay.json"), "--retrain-every-events", "2000")
    config = os.path.join(work, "serve.toml")
    with open(config, "w") as f:
        f.write('[server]\nhistory_interval_s = 1\n[model]\nfactors = 8\n'
                '[experiment]\nname = "console"\n[[experiment.arm]]\nname = "control"\n'
                '[[experiment.arm]]\nname = "popular"\nspec = "popularity"\n')
    with serving(work, "main", "-c", config, "--import", os.path.join(work, "syn", "interactions.csv"),
                 "--import-items", os.path.join(work, "syn", "items.csv")) as port:
        base = f"http://127.0.0.1:{port}/ui/"
        events = [{"user": HOSTILE_USER, "item": HOSTILE_ITEM}, {"user": HOSTILE_USER, "item": "i3"},
                  {"user": "u1", "item": HOSTILE_ITEM}]
        check(request(port, "POST", "/v1/events", json.dumps(events))[0] == 200, "hostile events accepted")
        status, page = request(port, "GET", "/ui/")
        check(status == 200 and b"<title>Nudge console</title>" in page, "GET /ui/ serves the page")
        print(f"page weight: {len(page)} bytes (one request: HTML, CSS and script inline)")
        for _ in range(2):  # two history samples, a second apart, with traffic between them
            for u in range(1, 30):
                request(port, "GET", f"/v1/recommend?user=u{u}&k=10")
            time.sleep(1.1)
        timings = {}
        with Browser() as b:
            b.send("Page.addScriptToEvaluateOnNewDocument",
                   {"source": "window.alerted = false; window.alert = () => { window.alerted = true; };"}, session=True)

            def visit(hash_part, name, expect_404=()):
                started = time.monotonic()
                shown = page_ready(b, base + hash_part)
                timings[name] = (time.monotonic() - started) * 1000
                check(shown == name.split(":")[0], f"{hash_part} shows the {name} page (got {shown})")
                check(not b.errors, f"{name}: no console errors ({b.errors})")
                unexpected = [e for e in b.network_errors if not any(p in e for p in expect_404)]
                check(not unexpected, f"{name}: no failed requests ({unexpected})")
                b.network_errors.clear()
                page_errors = b.eval("window.consoleErrors")
                check(not page_errors, f"{name}: no page errors ({page_errors})")
                b.errors.clear()

            # Overview: the model and the store as the API reports them; charts drawn.
            visit("#overview", "overview")
            model, health = get_json(port, "/v1/model"), get_json(port, "/healthz")
            check(b.eval("document.getElementById('page').dataset.modelVersion") == str(model["model_version"]),
                  "overview shows the model version")
            check(text_of(b, "dd[data-key=kind]") == model["kind"], "overview shows the model kind")
            check(text_of(b, "dd[data-key=events]").replace(",", "") == str(health["events"]),
                  "overview shows the stored events")
            check(b.eval("document.querySelectorAll('polyline').length") >= 3, "overview draws the history charts")
            # Users: recommendations as the API gives them; what-if posts an event and re-ranks.
            visit("#users?user=u1", "users")
            # Same request as the page's own (within the experiment each answer is a new list, same items).
            api = get_json(port, "/v1/recommend?user=u1&k=10&explain=true")
            shown = b.eval("[...document.querySelectorAll('#current table.recommendations tbody tr td:nth-child(2) a')]"
                           ".map(a => a.textContent)")
            check(shown == [r["item"] for r in api["items"]], f"users page shows the API's list ({shown})")
            user = get_json(port, "/v1/users/u1")
            check(b.eval("document.querySelectorAll('ol.recent li').length") == len(user["recent"]),
                  "users page lists recent items")
            shown_events = b.eval("[...document.querySelectorAll('table.events tbody tr')].map(r => r.cells[2].textContent)")
            check(shown_events == [e["item"] for e in user["events"]] and shown_events, "users page lists the last events")
            first = api["items"][0]["item"]
            b.eval(f"document.querySelector('#whatif input[name=item]').value = {json.dumps(first)};"
                   "document.querySelector('#whatif select').value = 'purchase';"
                   "document.querySelector('#whatif button').click(); true")
            b.wait_for("document.getElementById('page').dataset.whatif")
            check(b.eval("document.getElementById('page').dataset.whatif") == "done", "what-if posted the event")
            after = b.eval("[...document.querySelectorAll('#whatif-result table tbody tr td:nth-child(2) a')]"
                           ".map(a => a.textContent)")
            again = [r["item"] for r in get_json(port, "/v1/recommend?user=u1&k=10")["items"]]
            check(after == again, "the what-if answer is the API's next answer")
            check(after != shown and first not in after, "the answer changed: the purchased item left the list")
            check(first in [h["item"] for h in get_json(port, "/v1/users/u1")["history"]], "the event was stored")
            check(not b.errors, f"what-if: no console errors ({b.errors})")
            # Items: search counts and an item's page as the API gives them.
            category = get_json(port, "/v1/items/i1")["category"]
            visit("#items?category=" + urllib.parse.quote(category), "items")
            matched = get_json(port, "/v1/items?category=" + urllib.parse.quote(category))["matched"]
            check(text_of(b, "#matched").startswith(f"{matched} items match"), "items page shows the match count")
            visit("#items?item=i1", "items:detail")
            check(text_of(b, ".item-id") == "i1", "an item's page shows the item")
            check(b.eval("document.querySelectorAll('table tbody tr').length") > 0, "an item's page lists similar items")
            # Experiments: both arms with their counts.
            visit("#experiments", "experiments")
            arms = get_json(port, "/v1/experiments")["experiments"][0]["arms"]
            rows = b.eval("[...document.querySelectorAll('#page table tbody tr')].map(r => r.cells[0].textContent)")
            check(rows == [a["name"] for a in arms], f"experiments page lists the arms ({rows})")
            check(b.eval("document.querySelectorAll('svg rect').length") == len(arms), "experiments page draws the CTRs")
            # Evaluation: the replay result in the data directory.
            visit("#evaluation", "evaluation")
            replay = json.load(open(os.path.join(data, "evaluation", "replay.json")))
            check(text_of(b, "#page h2") == "replay.json", "evaluation page lists the replay result")
            check(text_of(b, "dd[data-key=ndcg]") == f"{replay['ndcg']:.4f}", "evaluation page shows the replay's NDCG")
            # Hostile IDs: shown as text, nothing injected, nothing run.
            visit("#users?user=" + urllib.parse.quote(HOSTILE_USER), "users:hostile")
            check(text_of(b, ".user-id") == HOSTILE_USER, "a hostile user ID is shown as text")
            check(b.eval("document.querySelectorAll('script').length") == 1, "no script element was injected")
            check(b.eval("document.querySelectorAll('#page img').length") == 0, "no img element was injected")
            check(HOSTILE_ITEM in b.eval("document.getElementById('page').textContent"), "the hostile item is listed as text")
            visit("#items?item=" + urllib.parse.quote(HOSTILE_ITEM), "items:hostile")
            check(text_of(b, ".item-id") == HOSTILE_ITEM, "a hostile item ID is shown as text")
            check(b.eval("window.alerted") is False, "no injected script ran")
            # Invalid UTF-8 never reaches a page: the API refuses it with a named error.
            status, body = request(port, "GET", "/v1/users/%FF")
            check(status == 400 and b"UTF-8" in body, f"invalid UTF-8 in an ID is refused ({status} {body[:80]})")
            visit("#users?user=%FF", "users:invalid-utf8", expect_404=["/v1/users/%EF%BF%BD"])  # an unknown user
            check(b.eval("document.querySelector('#page p.muted').textContent").startswith("No events"),
                  "an unknown user is said to have no events")
            check(b.eval("window.alerted") is False and not b.errors, "an undecodable ID in the page's address is harmless")
        print("time to ready (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    # Access rules, over HTTP: the key guards the console; ui = off turns it off.
    with serving(work, "keyed", "--api-key", "s3cret") as port:
        check(request(port, "GET", "/ui/")[0] == 401, "with an API key the console needs it")
        check(request(port, "GET", "/ui/?key=wrong")[0] == 401, "a wrong key is refused")
        check(request(port, "GET", "/ui/?key=s3cret")[0] == 200, "?key= opens the console")
        check(request(port, "GET", "/ui/", headers={"Authorization": "Bearer s3cret"})[0] == 200, "so does the bearer header")
        check(request(port, "GET", "/v1/items")[0] == 200, "reads stay open as in the API")
    with serving(work, "off", "--ui", "off") as port:
        check(request(port, "GET", "/ui/")[0] == 404, "ui = off: no console")
    if failures:
        print(f"{len(failures)} checks failed")
        sys.exit(1)
    print("ok: the console passed every check")


if __name__ == "__main__":
    main()
