"""Path converters of the API, registered once at start-up (``LearningConfig.ready``) so that
every URLconf may use them, core's and the plugins' (``<id:name>``), whichever loads first."""

from __future__ import annotations

from learning.api.serializers import MAX_ID


class IdConverter:
    """An object id in a path: digits up to the largest id the database stores (``MAX_ID``); a
    longer number matches nothing (the API's JSON 404), never a database overflow (500)."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        """The id, or ValueError (no match) past ``MAX_ID``."""
        number = int(value)
        if number > MAX_ID:
            raise ValueError(value)
        return number

    def to_url(self, value: int) -> str:
        """The id as digits."""
        return str(value)
