import sys

from xenapi_impl.xe.main import main

sys.exit(main())
