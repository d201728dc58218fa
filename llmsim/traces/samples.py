"""placeholder"""
from pathlib import Path
def sample_path(kind):
    return str(Path(__file__).resolve().parents[2] / "traces" / f"sample.{kind}")
