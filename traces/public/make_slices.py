"""Rebuild the small public-data slices in this folder from the full files.

The full data sets are public (sources and licences in README.md here); only slices ship with the
project. Run from the repository root with the full files in a folder of your own:

    python traces/public/make_slices.py /path/to/full/files

It reads the folder's ``traces/`` and ``data/`` subfolders (the layout of the downloads listed in
README.md) and rewrites the slices byte for byte from the first rows of each file.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# file -> how many data rows (after the header) to keep
ROWS = {
    "AzureLLMInferenceTrace_conv_2023.csv": 4000,
    "AzureLLMInferenceTrace_code_2023.csv": 1500,
    "burstgpt1_first400_slice.csv": 400,
    "burstgpt3_first400_slice.csv": 400,
    "mooncake_conversation_trace.jsonl": 400,
    "mooncake_synthetic_trace.jsonl": 200,
}
# the columns of the status-page incident table that the incident presets are derived from
INCIDENT_COLUMNS = ["Incident_Title", "incident_impact_level", "provider", "API", "api.anthropic.com",
                    "start_timestamp", "close_timestamp"]


def head(src: Path, dst: Path, rows: int) -> None:
    """The first ``rows`` records of ``src`` (plus a CSV header), byte for byte."""
    header = src.suffix == ".csv"
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        for i, line in enumerate(fin):
            if i >= rows + header:
                break
            fout.write(line)


def incidents(src: Path, dst: Path) -> None:
    """Every incident, only the columns the presets use."""
    with open(src, newline="", encoding="utf-8") as fin, open(dst, "w", newline="", encoding="utf-8") as fout:
        reader = csv.DictReader(fin)
        writer = csv.DictWriter(fout, INCIDENT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in reader:
            writer.writerow({k: row[k] for k in INCIDENT_COLUMNS})


def main(full: Path) -> None:
    for name, rows in ROWS.items():
        head(full / "traces" / name, HERE / name.replace("_first400_slice", ""), rows)
    incidents(full / "data" / "llm_status_incidents_2023_2024.csv", HERE / "llm_status_incidents_2023_2024.csv")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
