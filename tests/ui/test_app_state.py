"""App-wide state: the environment remembered across restarts, the Live look, the palette's
commands, the store closed on exit, and the keys table loading a page at a time."""

from __future__ import annotations

from datetime import timedelta

from changeup_tui.core.models import Actor, ApiKey, AuditEvent, Environment
from changeup_tui.core.names import name_key
from changeup_tui.core.service import KeyService
from changeup_tui.core.store.sqlite import SQLiteStore
from changeup_tui.testing import FIXED_NOW, SeededKeyGenerator
from changeup_tui.tui.screens.api_keys import PAGE_SIZE
from changeup_tui.tui.widgets.header import AppHeader
from tests.helpers.pilot import SIZE, search_palette, started, wait_for

from .ui_helpers import keys_table, seed_keys


async def test_environment_is_remembered_across_restarts(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert app.environment is Environment.TEST
        assert not app.screen.query_one(AppHeader).has_class("-live")
        await pilot.press("e")
        await wait_for(pilot, lambda: app.environment is Environment.LIVE)
        await app.workers.wait_for_complete()
        header = app.screen.query_one(AppHeader)
        assert header.has_class("-live")
        assert header.query_one("#header-live-label").display
    assert app.service.store._db is None  # closed on unmount

    again = make_app()
    async with again.run_test(size=SIZE) as pilot:
        screen = await started(pilot)
        assert again.environment is Environment.LIVE
        # Started in Live, the page is built in Live's look (classes given at construction).
        assert screen.has_class("-live")
        assert screen.query_one(AppHeader).has_class("-live")
        assert screen.query_one("#header-live-label").display
        assert screen.query_one("#header-switch").has_class("-live")
        assert screen.query_one("#env-live").has_class("-active")
        assert not screen.query_one("#env-test").has_class("-active")
        await pilot.click("#env-test")  # the switch works by mouse too
        await wait_for(pilot, lambda: again.environment is Environment.TEST)
        await again.workers.wait_for_complete()
        # ... and follows a change from there.
        assert not screen.has_class("-live")
        assert not screen.query_one(AppHeader).has_class("-live")
        assert not screen.query_one("#header-live-label").display
        assert not screen.query_one("#header-switch").has_class("-live")
        assert screen.query_one("#env-test").has_class("-active")
        assert not screen.query_one("#env-live").has_class("-active")

    third = make_app()
    async with third.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert third.environment is Environment.TEST


async def _seed_many(db_path, count: int) -> None:
    """Insert keys straight through the store with a placeholder hash: the table test needs rows,
    not argon2 (hashing 250 keys would take half a minute)."""
    store = SQLiteStore(db_path)
    await store.open()
    keygen = SeededKeyGenerator(99, valid_checksum=True)
    try:
        for i in range(count):
            env = Environment.TEST
            key = ApiKey(
                client_id=keygen.client_id(env), environment=env, name=f"bulk {i:04}",
                created_at=FIXED_NOW - timedelta(minutes=i), created_by="seed", hint="abcd",
            )
            event = AuditEvent(at=key.created_at, actor="seed", origin="local",
                               action="key.created", environment=env, client_id=key.client_id)
            await store.insert_key(key, name_key(key.name), "$argon2id$placeholder", event)
    finally:
        await store.close()


async def test_keys_table_loads_a_page_at_a_time(make_app, db_path):
    await _seed_many(db_path, 250)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        screen = await started(pilot)
        table = keys_table(app)
        assert screen.total == 250
        assert table.row_count == PAGE_SIZE
        assert str(screen.query_one("#keys-count").content) == "250 keys"
        # `end` reaches the true last key (issue 13): the last page is read alone (a window on
        # the list, however long), in order, the cursor on its last row
        await pilot.press("end")
        await wait_for(pilot, lambda: table.selected_key is not None
                       and table.selected_key.name == "bulk 0249")
        assert table.cursor_row == table.row_count - 1 == PAGE_SIZE - 1
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert names == [f"bulk {i:04}" for i in range(250 - PAGE_SIZE, 250)]  # newest first


async def test_a_view_taller_than_a_page_is_filled_without_a_key_pressed(make_app, db_path):
    """On a tall terminal the first page does not fill the table: the next one is read at once,
    and a terminal made taller reads more."""
    await _seed_many(db_path, 250)
    app = make_app()
    async with app.run_test(size=(120, PAGE_SIZE + 30)) as pilot:
        await started(pilot)
        table = keys_table(app)
        await wait_for(pilot, lambda: table.row_count == 2 * PAGE_SIZE)
        assert table.cursor_row == 0
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert names == [f"bulk {i:04}" for i in range(2 * PAGE_SIZE)]  # in order, no gap
        await pilot.resize_terminal(120, 2 * PAGE_SIZE + 30)
        await wait_for(pilot, lambda: table.row_count == 3 * PAGE_SIZE)
        assert table.cursor_row == 0


async def test_palette_switches_environment_and_copies_the_client_id(make_app, fake_clipboard,
                                                                     db_path):
    store = SQLiteStore(db_path)
    await store.open()
    created = await KeyService(store, keygen=SeededKeyGenerator(3, valid_checksum=True),
                               actor=Actor("tester", "local")).create("Palette", Environment.TEST)
    await store.close()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await wait_for(pilot, lambda: keys_table(app).selected_key is not None)
        await search_palette(pilot, "copy client id")
        await pilot.press("enter")
        await wait_for(pilot, lambda: fake_clipboard.text == created.key.client_id)

        await search_palette(pilot, "switch to live")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.environment is Environment.LIVE)
        await wait_for(pilot, lambda: keys_table(app).row_count == 0
                       and app.screen.query_one("#keys-empty").display)

        await search_palette(pilot, "activity log")
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ActivityLogScreen")
        table = app.screen.query_one("#log-table")
        await wait_for(pilot, lambda: table.row_count >= 2)
        rows = [{key: str(table.get_row_at(i)[table.get_column_index(key)])
                 for key in ("action", "key_name", "key", "actor", "origin")}
                for i in range(table.row_count)]
        # newest first: the app filled the profile on its first run, after the key was created
        assert [row["action"] for row in rows] == ["account.created", "key.created"]
        assert rows[1] == {"action": "key.created", "key_name": "Palette",
                           "key": created.key.client_id, "actor": "tester", "origin": "local"}


async def test_account_settings_covers_the_first_page_and_api_key_goes_back_to_it(make_app,
                                                                                   db_path):
    """The API Key page is the app's first screen: Escape opens Account Settings over it (the
    page's selected key is then nobody's: the palette does not offer to copy it), and "API Key"
    goes back to the same page, its filter and selection as they were."""
    from changeup_tui.tui.screens.account_settings import AccountSettingsScreen
    from changeup_tui.tui.screens.api_keys import ApiKeysScreen

    await seed_keys(db_path, "Billing", "Payments")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        page = await started(pilot)
        assert app.screen_stack == [page]
        await pilot.press("slash", *"pay")
        await wait_for(pilot, lambda: page.total == 1)
        await pilot.press("enter")  # to the table
        await wait_for(pilot, lambda: app.selected_key() is not None)
        selected = app.selected_key()
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, AccountSettingsScreen))
        assert app.screen_stack[0] is page and len(app.screen_stack) == 2
        assert app.selected_key() is None
        assert not [t for t in await search_palette(pilot, "copy client id") if "Copy" in t]
        await pilot.press("escape")  # closes the palette
        await wait_for(pilot, lambda: isinstance(app.screen, AccountSettingsScreen))
        await pilot.press("enter")  # "API Key", highlighted on arrival
        await wait_for(pilot, lambda: isinstance(app.screen, ApiKeysScreen))
        assert app.screen is page and app.screen_stack == [page]
        assert page.search == "pay" and page.total == 1
        assert app.selected_key() == selected
