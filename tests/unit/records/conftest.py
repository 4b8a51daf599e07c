from __future__ import annotations

import os
import sys

# The diagnosis fixtures (healthy server/client facts) live beside the diagnosis tests, the schema check beside the report's.
UNIT = os.path.dirname(os.path.dirname(__file__))
sys.path.insert(0, os.path.join(UNIT, "diagnosis"))
sys.path.insert(0, os.path.join(UNIT, "report"))
