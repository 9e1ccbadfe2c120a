from groklab.cli import main

raise SystemExit(main())
