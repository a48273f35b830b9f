from xenapi_impl.bindings.java.generate import main

raise SystemExit(main())
