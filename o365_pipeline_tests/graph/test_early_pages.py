"""First pages asked before dlt starts: handed out only for the very links asked, counted in the entity's client."""

from __future__ import annotations

import math

from o365_pipeline.auth import O365Auth
from o365_pipeline.config import PipelineConfig
from o365_pipeline.graph.client import GraphClient
from o365_pipeline.graph.early_pages import EarlyPages, stored_links
from o365_pipeline.sync import last_links, make_client, make_pipeline, run_sync


def test_pages_of_unchanged_links_are_handed_out_once_and_a_changed_link_asks_itself(
    o365_env: dict[str, str],
) -> None:
    auth, config = O365Auth.from_env(), PipelineConfig.from_env()
    run_sync(auth, config, entities=["mail_folders", "contact_folders"])
    links = stored_links(make_pipeline(config).state)
    assert set(links) == {"mail_folders", "contact_folders"} and len(links["mail_folders"]) > 2
    assert last_links(make_pipeline(config), ["mail_folders"]) == {"mail_folders": links["mail_folders"]}
    with make_client(auth) as client:
        view = client.view()
        early = EarlyPages({"mail_folders": links["mail_folders"]}, lambda name: view, workers=4)
        restored = dict(links["mail_folders"])
        changed = sorted(restored)[0]
        restored[changed] += "&changed"  # the state dlt restored holds another link for this stream
        pages = early.take("mail_folders", restored)
        early.close()
    assert set(pages) == set(restored) - {changed}
    assert all("@odata.deltaLink" in page for page in pages.values())
    assert view.stats.requests == math.ceil(len(restored) / 20) and early.taken == len(pages)
    assert early.take("mail_folders", restored) == {} and early.take("contact_folders", links["contact_folders"]) == {}


def test_a_failed_early_fetch_hands_out_nothing(o365_env: dict[str, str]) -> None:
    auth, config = O365Auth.from_env(), PipelineConfig.from_env()
    run_sync(auth, config, entities=["contact_folders"])
    links = stored_links(make_pipeline(config).state)["contact_folders"]

    def no_token(force_refresh: bool) -> str:
        raise RuntimeError("no token today")

    with GraphClient(auth.endpoints().graph_root, no_token, auth.tls_verify()) as client:
        early = EarlyPages({"contact_folders": links}, lambda name: client, workers=2)
        assert early.take("contact_folders", links) == {}
        early.close()
    assert client.stats.requests == 0
