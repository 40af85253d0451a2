"""``ps``'s STATUS column reads as ``docker ps`` writes it."""

from __future__ import annotations

import pytest

from orchestrator.cli.ps_cmd import _status_text, human_duration
from orchestrator.state.containers import ContainerRecord

NOW = 1_000_000.0


def rec(status: str, **kw: object) -> ContainerRecord:
    return ContainerRecord(id="c", name="p-s-1", project="p", service="s", number=1, config_hash="h",
                           status=status, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("seconds", "text"), [
    (0.4, "Less than a second"), (1, "1 second"), (59.9, "59 seconds"), (60, "About a minute"),
    (119, "About a minute"), (120, "2 minutes"), (3599, "59 minutes"), (3600, "About an hour"),
    (7200, "2 hours"), (47 * 3600, "47 hours"), (48 * 3600, "2 days"), (14 * 86400, "2 weeks"),
    (90 * 86400, "3 months"), (730 * 86400, "2 years"),
])
def test_durations_round_down_in_dockers_words(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_running_paused_healthy_and_starting() -> None:
    assert _status_text(rec("running", started_at=NOW - 5), NOW) == "Up 5 seconds"
    assert _status_text(rec("paused", started_at=NOW - 5), NOW) == "Up 5 seconds (Paused)"
    assert _status_text(rec("running", started_at=NOW - 200, health="healthy"), NOW) == "Up 3 minutes (healthy)"
    assert _status_text(rec("running", started_at=NOW - 2, health="starting"), NOW) == "Up 2 seconds (health: starting)"
    assert _status_text(rec("running", started_at=NOW - 2, health="unhealthy"), NOW) == "Up 2 seconds (unhealthy)"


def test_exited_says_how_long_ago_and_oom() -> None:
    assert _status_text(rec("exited", exit_code=0, finished_at=NOW - 7300), NOW) == "Exited (0) 2 hours ago"
    assert _status_text(rec("exited", exit_code=137, finished_at=NOW - 3, oom_killed=True), NOW) \
        == "Exited (137) 3 seconds ago OOMKilled"
    assert _status_text(rec("exited"), NOW) == "Exited (?)"  # its end not recorded yet
    assert _status_text(rec("created"), NOW) == "Created"


def test_images_say_how_old_in_the_same_words() -> None:
    from datetime import UTC, datetime, timedelta

    from orchestrator.cli.image_cmd import _ago

    made = (datetime.now(UTC) - timedelta(minutes=90)).isoformat().replace("+00:00", "Z")
    assert _ago(made) == "About an hour ago"
    assert _ago(None) == "N/A"
