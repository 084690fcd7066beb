"""The name field of the name and rename modals: what is typed is checked by the core's rules as
it is typed (uniqueness among the environment's active keys included, the renamed key itself
excepted), and the field says so with `Checked`; the modal shows the reason and enables its
button. The same check runs once more when the modal submits."""

from __future__ import annotations

from typing import Any

import msgspec
from textual import on, work
from textual.message import Message
from textual.widgets import Input

from changeup_tui.core.errors import InvalidName, StoreError
from changeup_tui.core.models import ApiKey, Environment
from changeup_tui.core.names import name_key
from changeup_tui.core.service import KeyService

SAME_NAME = "That is its name now."


class NameCheck(msgspec.Struct, frozen=True):
    name: str | None
    """The name as it would be stored, when it can be used."""
    reason: str
    """Why it cannot ("" when it can, or when nothing is typed yet)."""

    @property
    def valid(self) -> bool:
        return self.name is not None


class NameInput(Input):
    class Checked(Message):
        """What was typed was checked (and is still what the field holds)."""

        def __init__(self, field: NameInput, check: NameCheck) -> None:
            super().__init__()
            self.field = field
            self.check = check

        @property
        def control(self) -> NameInput:
            return self.field

    def __init__(
        self, service: KeyService, environment: Environment, *, renaming: ApiKey | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.service = service
        self.environment = environment
        self.renaming = renaming
        """The key being renamed: its own name does not count as taken, and is no change."""

    async def check(self, raw: str) -> NameCheck:
        """The core's verdict on `raw` as a name for a key of this environment."""
        renaming = self.renaming
        try:
            name = await self.service.check_name(
                raw, self.environment,
                except_client_id=renaming.client_id if renaming is not None else None,
            )
        except (InvalidName, StoreError) as exc:
            return NameCheck(None, str(exc))
        if renaming is not None and name == renaming.name:
            return NameCheck(None, SAME_NAME)
        return NameCheck(name, "")

    def mark(self, reason: str, valid: bool) -> None:
        """Show the field as invalid when there is a reason against it, unless what is typed is
        the renamed key's own name (nothing wrong with it: it is just no change)."""
        same = self.renaming is not None and (
            name_key(self.value.strip()) == name_key(self.renaming.name)
        )
        self.set_class(not valid and bool(reason) and not same, "-invalid")

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        if event.input is self:
            self._check_typed(event.value)

    @work(exclusive=True, group="check-name")
    async def _check_typed(self, value: str) -> None:
        check = await self.check(value)
        if self.value != value:
            return  # a newer keystroke is being checked
        if not value and not check.valid:
            check = NameCheck(None, "")  # nothing typed yet: no reproach, just a disabled button
        self.post_message(self.Checked(self, check))
