"""The field's file formats: readers and writers, one module per format."""
