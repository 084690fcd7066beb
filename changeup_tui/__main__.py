from changeup_tui.cli import main

raise SystemExit(main())
