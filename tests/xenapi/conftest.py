import os
import sys

# the in-process harness is a plain module beside the tests
sys.path.insert(0, os.path.dirname(__file__))
