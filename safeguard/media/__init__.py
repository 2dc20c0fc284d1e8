"""Decoding media into what signals hash: pixels for pictures (and, with video hashing,
frames for videos), under caps that a hostile file cannot get past."""
