"""Figures of the contract tests and the operations that end the caller's session (no heavy imports)."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

# After these (when they succeed) the owner's access token no longer works: the test logs in again.
SESSION_ENDING = frozenset(
    {
        ("POST", "/api/v1/auth/logout"),
        ("POST", "/api/v1/auth/logout-all"),
        ("POST", "/api/v1/users/me/password"),
        ("DELETE", "/api/v1/users/me/sessions/{id}"),
        ("DELETE", "/api/v1/users/me/sessions"),
    }
)


class CaseCounter:
    """Cases sent and statuses answered per role; written to ``CONTRACT_REPORT`` (JSON) when set."""

    def __init__(self) -> None:
        self.cases: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.server_errors = 0

    def record(self, role: str, case: Any, response: Any) -> None:
        self.cases[role] += 1
        self.statuses[str(response.status_code)] += 1
        if response.status_code >= 500:
            self.server_errors += 1

    def summary(self) -> dict[str, Any]:
        return {
            "cases": dict(self.cases),
            "total": sum(self.cases.values()),
            "server_errors": self.server_errors,
            "statuses": dict(sorted(self.statuses.items())),
        }

    def write(self) -> None:
        target = os.environ.get("CONTRACT_REPORT")
        if target and self.cases:
            path = Path(target)
            # xdist workers each add their own figures to the file.
            previous = json.loads(path.read_text()) if path.exists() else {}
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            previous[worker] = self.summary()
            path.write_text(json.dumps(previous, indent=2))
