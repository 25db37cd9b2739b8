"""The re-inspection page's reruns through AppTest, for session 24's "Re-inspection page per rerun".

``python benchmarks/reinspect_bench.py REPO STORE_URL`` signs an officer of Hoàn Kiếm in
(on the sample store: 256 places due today), runs the page once, then reruns it three
times (a widget interaction reruns the whole script the same way) and prints one JSON line:
first run and each rerun's wall and CPU seconds, the buttons drawn, the peak memory. REPO
is the checkout whose ``app.py`` runs, so main and a branch are timed by the same script.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time


def main(repo: str, url: str) -> dict[str, object]:
    os.chdir(repo)
    sys.path.insert(0, repo)
    os.environ["GEO_DATABASE_URL"] = url
    os.environ.pop("GEO_BOUNDARIES", None)
    from streamlit.testing.v1 import AppTest

    from tests._signin import sign_in_apptest

    at = AppTest.from_file(os.path.join(repo, "app.py"), default_timeout=300)
    sign_in_apptest(at, url, "officer", ("00070",))
    at.switch_page("app_pages/reinspect.py")
    start = time.perf_counter()
    at.run()
    out: dict[str, object] = {"repo": repo, "first_s": round(time.perf_counter() - start, 2)}
    assert not at.exception, at.exception
    out["due"] = {m.label: m.value for m in at.metric}
    reruns = []
    for _ in range(3):
        cpu, start = time.process_time(), time.perf_counter()
        at.run()
        reruns.append([round(time.perf_counter() - start, 3), round(time.process_time() - cpu, 3)])
        assert not at.exception, at.exception
    out["reruns"] = reruns
    out["buttons"] = len(at.button)
    out["downloads"] = len(at.get("download_button"))
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    out["load"] = os.getloadavg()[0]
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2]), ensure_ascii=False))
