#!/usr/bin/env python3
"""Writes rtclab's own small capacity traces (mahimahi format: one line per
1500-byte delivery opportunity, time in ms; the trace repeats at its end).

  dip-2m-300k.mahi   2 Mbit/s, 300 kbit/s from 8 s to 12 s, 2 Mbit/s to 20 s
  steps-4m-1m.mahi   4 Mbit/s for 5 s, 1 Mbit/s for 5 s, 2 Mbit/s for 5 s

Run from the repository root: python3 testdata/make-traces.py
"""
import os

def write(name, segments):
    # segments: (start_ms, end_ms, bits_per_second)
    lines = []
    for start, end, bps in segments:
        per_ms = bps / 8 / 1500 / 1000  # opportunities per ms
        credit = 0.0
        for t in range(start, end):
            credit += per_ms
            while credit >= 1:
                lines.append(str(t + 1))
                credit -= 1
    path = os.path.join("testdata", "traces", name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(path, len(lines), "opportunities")

write("dip-2m-300k.mahi", [(0, 8000, 2_000_000), (8000, 12000, 300_000), (12000, 20000, 2_000_000)])
write("steps-4m-1m.mahi", [(0, 5000, 4_000_000), (5000, 10000, 1_000_000), (10000, 15000, 2_000_000)])
