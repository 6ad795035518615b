from __future__ import annotations

import pytest

from spotcheck.adapters import (
    AdapterConfigError,
    AdapterContext,
    Announcement,
    AnnouncementAdapter,
    AnnouncementSink,
    InMemoryAnnouncementSink,
)

from .conftest import NOW, fixed_clock, make_message


def test_in_memory_sink_is_a_sink() -> None:
    assert isinstance(InMemoryAnnouncementSink(), AnnouncementSink)


async def test_publishes_once_per_message_and_reports_the_id() -> None:
    sink = InMemoryAnnouncementSink()
    adapter = AnnouncementAdapter(
        {"feed": "zj-results", "reason": "经营者地址不详"},
        context=AdapterContext(announcement_sink=sink, clock=fixed_clock),
    )
    message = make_message(message_type="result.notice")
    first = await adapter.deliver(message)
    retried = await adapter.deliver(make_message(message_type="result.notice", attempt=2))
    other = await adapter.deliver(make_message(message_id="msg_other", case_id="SC-2023-0002"))
    await adapter.aclose()
    assert (first.status, first.remote_reference) == ("delivered", "ann-000001")
    assert retried.remote_reference == "ann-000001"  # a retried delivery never announces twice
    assert other.remote_reference == "ann-000002"
    assert list(sink.announcements) == ["ann-000001", "ann-000002"]
    published = sink.get("ann-000001")
    assert published is not None
    assert published.feed == "zj-results"
    assert published.published_at == int(NOW)
    assert published.body == message.body
    assert published.title == "关于某某电商平台的检验结果通知公告（案件 SC-2023-0001）"
    assert published.text.startswith("某某电商平台：\n")
    assert "因经营者地址不详无法通知" in published.text
    assert "工商消字〔2015〕189号" in published.text
    assert "案件编号：SC-2023-0001" in published.text
    assert "公告通知）之日起十五日内" in published.text
    assert published.text.rstrip().endswith("浙江省市场监督管理局")


async def test_a_failing_sink_means_retry() -> None:
    class BrokenSink:
        async def publish(self, announcement: Announcement) -> str:
            raise ConnectionError("database is down")

    adapter = AnnouncementAdapter({}, context=AdapterContext(announcement_sink=BrokenSink()))
    outcome = await adapter.deliver(make_message())
    assert outcome.status == "retry"
    assert outcome.error == "ConnectionError: database is down"


def test_the_gateway_must_lend_a_sink() -> None:
    with pytest.raises(AdapterConfigError) as error:
        AnnouncementAdapter({}, context=AdapterContext())
    assert error.value.field == "AdapterContext.announcement_sink"


@pytest.mark.parametrize(
    ("config", "field"), [({"feed": " "}, "feed"), ({"reason": ""}, "reason"), ({"feed": 3}, "feed"), ({"x": 1}, "x")]
)
def test_config_errors_name_the_field(config: dict[str, object], field: str) -> None:
    with pytest.raises(AdapterConfigError) as error:
        AnnouncementAdapter.validate_config(config)
    assert error.value.field == field


async def test_unknown_types_are_titled_by_their_code() -> None:
    sink = InMemoryAnnouncementSink()
    adapter = AnnouncementAdapter({}, context=AdapterContext(announcement_sink=sink, clock=fixed_clock))
    outcome = await adapter.deliver(make_message(message_type="custom.notice", recipient_name=""))
    assert outcome.remote_reference is not None
    published = sink.get(outcome.remote_reference)
    assert published is not None
    assert published.title == "关于相关经营者的custom.notice公告（案件 SC-2023-0001）"
