"""The content digest of a frame, recorded in a config's provenance (``data_sha256``)."""

from __future__ import annotations

import hashlib

import pandas as pd


def sha256_frame(frame: pd.DataFrame) -> str:
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(hashed.tobytes() + ",".join(map(str, frame.columns)).encode()).hexdigest()
