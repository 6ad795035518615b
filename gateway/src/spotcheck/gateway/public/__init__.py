"""The regulator's public site: published results, announcements, and signed audit checkpoints.

Published results (抽检结果公布, the opinion's 四(一)), announcements to parties who could not be reached (公告送达,
the opinion's 三(二)), and the signed checkpoints of the audit chain:

* ``/public/results`` (HTML), ``/public/results.json``, ``/public/results.atom``, ``/public/results.csv``;
* ``/public/results/{case_id}``: one result;
* ``/public/announcements`` (HTML), ``/public/announcements/{id}``, ``/public/announcements.atom``;
* ``/public/hazard-list`` (HTML, ``.json``, ``.atom``): the list of hazardous products failing a mandatory standard
  (四(二), :mod:`~spotcheck.gateway.public.hazards`);
* ``/public/warnings`` (HTML, ``.json``, ``.atom``): consumer warnings (一, 六(二),
  :mod:`~spotcheck.gateway.public.warnings`);
* ``/public/penalties`` (HTML, ``.json``, ``.csv``): penalty decisions (四(三),
  :mod:`~spotcheck.gateway.public.penalties`);
* ``/public/audit/checkpoints`` and ``/public/audit/key``.

:func:`announcement_sink` is the database-backed sink the delivery worker lends the ``announcement`` adapter.
"""

from spotcheck.gateway.public.announcements import (
    DatabaseAnnouncementSink,
    PublicAnnouncement,
    announcement_sink,
    get_announcement,
    list_announcements,
    public_notice,
)
from spotcheck.gateway.public.results import (
    CONCLUSION_LABELS,
    PublicResult,
    ResultFilters,
    count_results,
    get_result,
    iter_results,
    mask_personal_name,
    search_results,
)

__all__ = [
    "CONCLUSION_LABELS",
    "DatabaseAnnouncementSink",
    "PublicAnnouncement",
    "PublicResult",
    "ResultFilters",
    "announcement_sink",
    "count_results",
    "get_announcement",
    "get_result",
    "iter_results",
    "list_announcements",
    "mask_personal_name",
    "public_notice",
    "search_results",
]
