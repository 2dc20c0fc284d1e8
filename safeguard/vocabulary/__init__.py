"""The words every layer shares, below them all: content types (what a file is by its
first bytes), grading schemes and categories, hash-list entries, kinds and actions."""
