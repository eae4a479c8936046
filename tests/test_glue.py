"""lenet.glue: values pasted into the prose, with a Chinese twin for a value in words."""

from __future__ import annotations

import pytest

import lenet.glue as glue_module
from lenet.chapters import running_time, running_time_zh


@pytest.fixture
def shown(monkeypatch):
    calls = []
    monkeypatch.setattr(glue_module, "display", lambda data, raw, metadata: calls.append((data, metadata)))
    return calls


def _names(calls):
    return [metadata["scrapbook"]["name"] for _, metadata in calls]


def test_glue_attaches_the_value_under_its_name(shown):
    glue_module.glue("c8_gap", "0.12")
    ((data, metadata),) = shown
    assert data == {glue_module.GLUE_PREFIX + "text/plain": "'0.12'"}
    assert metadata["scrapbook"] == {"name": "c8_gap", "mime_prefix": glue_module.GLUE_PREFIX}


def test_a_value_in_words_gets_its_chinese_twin(shown):
    glue_module.glue("c8_verdict", "within", zh="在噪声之内")
    assert _names(shown) == ["c8_verdict", "c8_verdict" + glue_module.ZH_SUFFIX]
    assert shown[1][0][glue_module.GLUE_PREFIX + "text/plain"] == repr("在噪声之内")


def test_glue_refuses_a_name_the_role_cannot_use(shown):
    with pytest.raises(ValueError, match="must be letters, digits"):
        glue_module.glue("c8 gap", 1)
    assert shown == []


@pytest.mark.parametrize(
    "seconds, english, chinese",
    [(12, "under a minute", "不到一分钟"), (75, "about 1 minute", "约 1 分钟"), (200, "about 3 minutes", "约 3 分钟")],
)
def test_running_times_in_both_languages(seconds, english, chinese):
    assert running_time(seconds) == english
    assert running_time_zh(seconds) == chinese
