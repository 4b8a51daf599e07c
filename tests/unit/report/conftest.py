from __future__ import annotations

import os
import sys

# The diagnosis fixtures (healthy server/client facts and the broken variants) live beside the diagnosis tests.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "diagnosis"))
sys.path.insert(0, os.path.dirname(__file__))
