from boundaryd.cli.commands import main

raise SystemExit(main())
