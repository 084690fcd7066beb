"""The one home of the helpers the tests and the snapshots share:

- `clipboard`: the fake local clipboard (pyperclip's copy/paste);
- `apps`: the app built by the real factory for a test (`build_test_app`);
- `pilot`: waiting on a condition (`wait_for`), letting an input settle (`settle`), the first page
  loaded (`started`), the notifications shown (`notifications`);
- `keys`: two seeded secrets with the same hint, and a generator that hands out chosen secrets;
- `processes`: the environment of a child process (`child_env`) and the command line run in a
  subprocess (`run_cli`, `Result`).

Folder-specific walks stay beside their tests (tests/ui/ui_helpers.py, tests/cli/cli_subprocess.py,
tests/reliability/support.py) and build on these."""
