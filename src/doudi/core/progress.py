"""A progress bar for long commands (`doudi recheck`, `doudi payroll compute`): one line redrawn on a
terminal, one line per step otherwise (logs, tests)."""

from __future__ import annotations

import sys
import time


class TerminalProgress:
    """`progress(stage, percent)` for a service; `ran` lists the stages reported (empty: nothing ran)."""

    def __init__(self, stdout) -> None:
        self.stdout = stdout
        self.started = time.perf_counter()
        self.tty = sys.stdout.isatty()
        self.ran: list[str] = []

    def __call__(self, stage: str, percent: int) -> None:
        self.ran.append(stage)
        bar = "#" * (percent // 5) + "." * (20 - percent // 5)
        line = f"[{bar}] {percent:3d}%  {stage:<12} {time.perf_counter() - self.started:6.1f}s"
        self.stdout.write(("\r" + line) if self.tty else line, ending="" if self.tty else "\n")
        self.stdout.flush()

    def done(self) -> None:
        """End the redrawn line (a terminal) once the work is over."""
        if self.tty and self.ran:
            self.stdout.write("")
